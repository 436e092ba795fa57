#include "store/activity.h"

#include <algorithm>

#include "store/queries.h"

namespace hivehook {

std::vector<ActivityMinute> activity(Store& store, int64_t now_ms, int minutes) {
  minutes = std::clamp(minutes, 1, 24 * 60);
  const int64_t last = now_ms / 60000 * 60000;
  const int64_t first = last - int64_t(minutes - 1) * 60000;
  std::vector<ActivityMinute> out(static_cast<std::size_t>(minutes));
  for (int i = 0; i < minutes; ++i) out[static_cast<std::size_t>(i)].minute_ms = first + int64_t(i) * 60000;
  auto slot = [&](int64_t t) -> ActivityMinute* {
    if (t < first || t >= last + 60000) return nullptr;
    return &out[static_cast<std::size_t>((t - first) / 60000)];
  };
  auto& db = store.db();
  auto ot = db.prepare("SELECT discovered_at FROM objects WHERE id >= ?");
  ot.bind(1, first_id_at_or_after(store, "objects", "discovered_at", first));
  while (ot.step())
    if (auto* m = slot(ot.int64(0))) ++m->files;
  // Runs that ended in the window started in it or before: look back one hour for the long ones.
  auto rt = db.prepare(
      "SELECT r.ended_at, r.state, o.discovered_at, r.started_at, r.attempt FROM runs r JOIN objects o ON o.id = r.object_id"
      " WHERE r.id >= ? AND r.ended_at IS NOT NULL");
  rt.bind(1, first_id_at_or_after(store, "runs", "started_at", first - 3600 * 1000));
  std::vector<std::vector<int64_t>> latencies(out.size());
  while (rt.step()) {
    auto* m = slot(rt.int64(0));
    if (!m) continue;
    ++m->runs;
    const std::string state = rt.text(1);
    if (state == "failed" || state == "timed_out") ++m->failures;
    // File → job: from discovery to the first attempt's start (not its end: a job's own duration is
    // not the daemon's latency; a retry's start includes its backoff).
    if (rt.int64(4) == 1)
      latencies[static_cast<std::size_t>(m - out.data())].push_back(std::max<int64_t>(0, rt.int64(3) - rt.int64(2)));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto& l = latencies[i];
    if (l.empty()) continue;
    std::sort(l.begin(), l.end());
    out[i].latency_p50_ms = l[(l.size() - 1) / 2];
    out[i].latency_max_ms = l.back();
  }
  return out;
}

}  // namespace hivehook
