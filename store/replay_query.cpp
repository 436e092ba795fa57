#include "store/replay_query.h"

#include "landing/key.h"

namespace hivehook {

// An empty string filters nothing: `{"key": ""}` (a script's unset variable) is no filter (issue 15
// retest, F23: it replayed the whole store past this guard).
bool unfiltered(const ReplayFilter& f) {
  auto none = [](const std::optional<std::string>& v) { return !v || v->empty(); };
  return f.rules.empty() && none(f.key_prefix) && f.partition.empty() && none(f.from) && none(f.to) && !f.failed_only &&
         !f.since_ms;
}

std::vector<ObjectRecord> replay_candidates(Store& store, const ReplayFilter& f) {
  std::string sql =
      "SELECT o.id, o.key, o.size, o.etag, o.state, o.final_path, o.error, o.discovered_at, o.updated_at"
      " FROM objects o WHERE ((o.final_path IS NOT NULL AND o.final_path != '')"
      " OR o.state IN ('unmatched', 'pending', 'succeeded', 'failed'))";
  // unmatched: left in landing when no rule matched it; a rule added since can run it (fault 18).
  // pending, succeeded, failed: being processed — listed so the plan says so, never replayed
  // (issue 15 retest, F17: "nothing matches" hid why).
  sql += f.failed_only ? " AND o.state = 'quarantined'"
                       : " AND o.state IN ('archived', 'quarantined', 'unmatched', 'pending', 'succeeded', 'failed')";
  // Positional parameters only (`?`, numbered in order): the PostgreSQL backend numbers them $1, $2...
  if (f.key_prefix) sql += " AND substr(o.key, 1, length(CAST(? AS TEXT))) = ?";
  if (f.from) sql += " AND o.key >= ?";
  if (f.to) sql += " AND o.key <= ?";
  if (f.since_ms) sql += " AND o.discovered_at >= ?";
  sql += std::string(" AND ") + kLatestArrivalClause + " ORDER BY o.key";
  auto st = store.db().prepare(sql);
  int i = 1;
  if (f.key_prefix) {
    st.bind(i++, *f.key_prefix);
    st.bind(i++, *f.key_prefix);
  }
  if (f.from) st.bind(i++, *f.from);
  if (f.to) st.bind(i++, *f.to);
  if (f.since_ms) st.bind(i++, *f.since_ms);
  std::vector<ObjectRecord> out;
  while (st.step() && static_cast<int>(out.size()) < f.limit) {
    ObjectRecord o;
    o.id = st.int64(0);
    o.key = st.text(1);
    if (!f.partition.empty()) {
      auto parsed = parse_key(o.key);
      if (!parsed) continue;
      bool all = true;
      for (const auto& [name, value] : f.partition) {
        auto v = parsed->partition_value(name);
        if (!v || *v != value) {
          all = false;
          break;
        }
      }
      if (!all) continue;
    }
    o.size = static_cast<uint64_t>(st.int64(2));
    o.etag = st.text(3);
    o.state = object_state_from(st.text(4)).value_or(ObjectState::archived);
    o.final_path = st.text(5);
    o.error = st.text(6);
    o.discovered_at = st.int64(7);
    o.updated_at = st.int64(8);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace hivehook
