// Expectation periods, deadlines and partitions (see expectation.h).
#include "orchestration/expectation.h"

#include <cstdio>
#include <deque>

namespace hivehook {

using namespace std::chrono;

namespace {
constexpr std::string_view kTokens[] = {"yyyy", "mm", "dd", "hh", "mi"};
}

std::optional<std::vector<PartitionTemplateSegment>> parse_partition_template(std::string_view text,
                                                                              std::string* error) {
  auto fail = [&](std::string m) -> std::optional<std::vector<PartitionTemplateSegment>> {
    if (error) *error = std::move(m);
    return std::nullopt;
  };
  if (text.empty()) return fail("the partition template is empty (e.g. \"year={yyyy}/month={mm}/day={dd}\")");
  std::vector<PartitionTemplateSegment> out;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    std::string_view seg = text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    size_t eq = seg.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return fail("partition segment '" + std::string(seg) + "' is not name=value (e.g. day={dd})");
    PartitionTemplateSegment s{std::string(seg.substr(0, eq)), std::string(seg.substr(eq + 1))};
    if (s.name.find_first_of("{}") != std::string::npos)
      return fail("partition column name '" + s.name + "' cannot hold a placeholder");
    for (const auto& o : out)
      if (o.name == s.name) return fail("partition column '" + s.name + "' is given twice");
    for (size_t i = 0; i < s.value.size(); ++i) {
      if (s.value[i] == '}') return fail("'}' without '{' in '" + std::string(seg) + "'");
      if (s.value[i] != '{') continue;
      size_t close = s.value.find('}', i);
      if (close == std::string::npos) return fail("unclosed '{' in '" + std::string(seg) + "'");
      std::string_view tok = std::string_view(s.value).substr(i + 1, close - i - 1);
      bool known = false;
      for (auto k : kTokens) known = known || k == tok;
      if (!known)
        return fail("unknown placeholder '{" + std::string(tok) +
                    "}' in the partition template (known: {yyyy}, {mm}, {dd}, {hh}, {mi})");
      i = close;
    }
    out.push_back(std::move(s));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

std::optional<Duration> parse_time_of_day(std::string_view t) {
  auto two = [&](size_t at, int max) -> int {
    if (at + 2 > t.size() || t[at] < '0' || t[at] > '9' || t[at + 1] < '0' || t[at + 1] > '9') return -1;
    int v = (t[at] - '0') * 10 + (t[at + 1] - '0');
    return v <= max ? v : -1;
  };
  if (t.size() != 5 && t.size() != 8) return std::nullopt;
  int h = two(0, 23), m = t[2] == ':' ? two(3, 59) : -1, s = 0;
  if (t.size() == 8) s = t[5] == ':' ? two(6, 59) : -1;
  if (h < 0 || m < 0 || s < 0) return std::nullopt;
  return duration_cast<Duration>(hours(h) + minutes(m) + seconds(s));
}

std::string ExpectationSchedule::every_problem(Duration every, std::string_view as_written) {
  if (every < minutes(1) || every % minutes(1) != Duration{0} || hours(24) % every != Duration{0})
    return "'every' must be a whole number of minutes that divides a day (e.g. 15m, 1h, 6h, 1d), not '" +
           std::string(as_written) + "'";
  return "";
}

std::string ExpectationSchedule::template_problem() const {
  auto uses = [&](std::string_view tok) {
    std::string t = "{" + std::string(tok) + "}";
    for (const auto& s : partition)
      if (s.value.find(t) != std::string::npos) return true;
    return false;
  };
  std::vector<std::string_view> need{"yyyy", "mm", "dd"};
  if (every < hours(24)) need.push_back("hh");
  if (every < hours(1)) need.push_back("mi");
  std::string missing;
  for (auto t : need)
    if (!uses(t)) missing += (missing.empty() ? "{" : ", {") + std::string(t) + "}";
  if (missing.empty()) return "";
  return "the partition template must tell every period apart: it lacks " + missing;
}

LocalSeconds ExpectationSchedule::period_start(LocalSeconds t) const {
  auto day = floor<days>(t);
  auto into = t - day;
  auto every_s = duration_cast<seconds>(every);
  return day + (into / every_s) * every_s;
}

SystemTime ExpectationSchedule::deadline(LocalSeconds start) const {
  return zone.to_system(start + duration_cast<seconds>(every) + duration_cast<seconds>(by));
}

std::string ExpectationSchedule::render(LocalSeconds start) const {
  auto day = floor<days>(start);
  year_month_day ymd{day};
  hh_mm_ss<seconds> tod{start - day};
  char buf[24];
  auto num = [&](long v, int width) {
    std::snprintf(buf, sizeof buf, "%0*ld", width, v);
    return std::string(buf);
  };
  std::string out;
  for (const auto& s : partition) {
    if (!out.empty()) out += '/';
    out += s.name + "=";
    for (size_t i = 0; i < s.value.size(); ++i) {
      if (s.value[i] != '{') {
        out += s.value[i];
        continue;
      }
      size_t close = s.value.find('}', i);
      std::string_view tok = std::string_view(s.value).substr(i + 1, close - i - 1);
      if (tok == "yyyy") out += num(int(ymd.year()), 4);
      else if (tok == "mm") out += num(unsigned(ymd.month()), 2);
      else if (tok == "dd") out += num(unsigned(ymd.day()), 2);
      else if (tok == "hh") out += num(tod.hours().count(), 2);
      else if (tok == "mi") out += num(tod.minutes().count(), 2);
      i = close;
    }
  }
  return out;
}

std::optional<std::string> ExpectationSchedule::partition_of(const ObjectKey& key) const {
  std::string out;
  for (const auto& s : partition) {
    auto v = key.partition_value(s.name);
    if (!v) return std::nullopt;
    std::string value(*v);
    // A column that is one token ("{mm}") names a number: an unpadded value (`month=3`, as Spark's
    // partitionBy writes integer columns) is the partition render zero-pads ("month=03").
    for (size_t t = 0; t < std::size(kTokens); ++t) {
      const size_t width = t == 0 ? 4 : 2;
      if (s.value != "{" + std::string(kTokens[t]) + "}" || value.empty() || value.size() >= width) continue;
      if (value.find_first_not_of("0123456789") == std::string::npos) value.insert(0, width - value.size(), '0');
    }
    if (!out.empty()) out += '/';
    out += s.name + "=" + value;
  }
  return out;
}

std::optional<LocalSeconds> ExpectationSchedule::period_of(std::string_view text) const {
  // Each token is a fixed number of digits (render zero-pads), so one left-to-right walk parses it.
  int fields[5] = {-1, -1, -1, 0, 0};  // yyyy mm dd hh mi
  size_t at = 0;
  for (size_t n = 0; n < partition.size(); ++n) {
    const auto& seg = partition[n];
    if (n > 0) {
      if (at >= text.size() || text[at] != '/') return std::nullopt;
      ++at;
    }
    if (text.compare(at, seg.name.size() + 1, seg.name + "=") != 0) return std::nullopt;
    at += seg.name.size() + 1;
    for (size_t i = 0; i < seg.value.size(); ++i) {
      if (seg.value[i] != '{') {
        if (at >= text.size() || text[at] != seg.value[i]) return std::nullopt;
        ++at;
        continue;
      }
      size_t close = seg.value.find('}', i);
      std::string_view tok = std::string_view(seg.value).substr(i + 1, close - i - 1);
      size_t which = 0;
      while (which < 5 && kTokens[which] != tok) ++which;
      const size_t width = which == 0 ? 4 : 2;
      if (which == 5 || at + width > text.size()) return std::nullopt;
      int v = 0;
      for (size_t k = 0; k < width; ++k) {
        char c = text[at + k];
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
      }
      fields[which] = v;
      at += width;
      i = close;
    }
  }
  if (at != text.size() || fields[0] < 0 || fields[1] < 0 || fields[2] < 0 || fields[3] > 23 || fields[4] > 59)
    return std::nullopt;
  year_month_day ymd{year(fields[0]), month(unsigned(fields[1])), day(unsigned(fields[2]))};
  if (!ymd.ok()) return std::nullopt;
  LocalSeconds start = local_days(ymd) + hours(fields[3]) + minutes(fields[4]);
  // Aligned on this `every`, and naming it exactly (a token used twice with two values does not).
  if (period_start(start) != start || render(start) != text) return std::nullopt;
  return start;
}

std::vector<LocalSeconds> ExpectationSchedule::due_between(SystemTime since, SystemTime now, size_t limit) const {
  std::vector<LocalSeconds> out;
  if (now <= since || limit == 0) return out;
  // Start a little before the period whose deadline could follow `since` (slack for a moved clock).
  auto span = duration_cast<SystemTime::duration>(every * static_cast<long long>(limit + 2) + by + hours(26));
  SystemTime from = now - since > span ? SystemTime(now - span) : since;
  auto step = duration_cast<seconds>(every);
  LocalSeconds p = period_start(zone.to_local(from) - duration_cast<seconds>(by) - step - hours(3));
  std::deque<LocalSeconds> kept;
  for (;; p += step) {
    SystemTime d = deadline(p);
    if (d > now) break;
    if (d <= since) continue;
    kept.push_back(p);
    if (kept.size() > limit) kept.pop_front();
  }
  return {kept.begin(), kept.end()};
}

SystemTime ExpectationSchedule::next_deadline_after(SystemTime t) const {
  auto step = duration_cast<seconds>(every);
  LocalSeconds p = period_start(zone.to_local(t) - duration_cast<seconds>(by) - step - hours(3));
  for (;; p += step) {
    SystemTime d = deadline(p);
    if (d > t) return d;
  }
}

}  // namespace hivehook
