#include "store/partitions.h"

#include <chrono>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "landing/key.h"
#include "landing/key_order.h"

namespace hivehook {

namespace {

std::vector<std::string_view> segments(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

// Cells by table, then partition in key order (landing/key_order.h: day=9 before day=10).
struct CellOrder {
  bool operator()(const std::pair<std::string, std::string>& x, const std::pair<std::string, std::string>& y) const {
    if (auto c = compare_keys(x.first, y.first); c != 0) return c < 0;
    return compare_keys(x.second, y.second) < 0;
  }
};

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string pad2(std::string v) { return v.size() == 1 ? "0" + v : v; }

// "YYYY-MM-DD" ↔ days since 1970-01-01.
std::optional<std::chrono::sys_days> parse_day(const std::string& day) {
  if (day.size() != 10) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(std::stoi(day.substr(0, 4))),
                                  std::chrono::month(static_cast<unsigned>(std::stoi(day.substr(5, 2)))),
                                  std::chrono::day(static_cast<unsigned>(std::stoi(day.substr(8, 2))))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd);
}
std::string format_day(std::chrono::sys_days d) {
  std::chrono::year_month_day ymd(d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

// `tmpl` (a partition naming a day, partition_day) written for `day` ("YYYY-MM-DD"): its segments
// up to the one that completes the day, with year/month/day values (as wide as written) or a
// YYYY-MM-DD value replaced. "" when `tmpl` does not name a day that way.
std::string partition_for_day(const std::string& tmpl, const std::string& day) {
  std::string out;
  bool y = false, m = false, d = false;
  for (auto seg : segments(tmpl)) {
    std::size_t eq = seg.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(seg.substr(0, eq)), value(seg.substr(eq + 1)), lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto two = [&](std::string v) { return value.size() == 1 && v[0] == '0' ? v.substr(1) : v; };
    bool whole = false;
    if (lower == "year" && digits(value) && value.size() == 4) value = day.substr(0, 4), y = true;
    else if (lower == "month" && digits(value) && value.size() <= 2) value = two(day.substr(5, 2)), m = true;
    else if (lower == "day" && digits(value) && value.size() <= 2) value = two(day.substr(8, 2)), d = true;
    else if (value.size() >= 10 && digits(value.substr(0, 4)) && value[4] == '-' && value[7] == '-')
      value = day, whole = true;
    out += (out.empty() ? "" : "/") + name + "=" + value;
    if (whole || (y && m && d)) return out;
  }
  return "";
}

}  // namespace

std::string key_table(const std::string& key) {
  std::size_t slash = key.find('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash);
}

std::string key_partition(const std::string& key) {
  auto segs = segments(key);
  std::string out;
  for (std::size_t i = 1; i + 1 < segs.size(); ++i)
    if (segs[i].find('=') != std::string_view::npos) {
      if (!out.empty()) out += '/';
      out += segs[i];
    }
  return out;
}

std::string partition_day(const std::string& partition) {
  if (partition.empty()) return "";
  std::string year, month, day;
  for (auto seg : segments(partition)) {
    std::size_t eq = seg.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(seg.substr(0, eq));
    std::string value = hive_unescape(seg.substr(eq + 1));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "year" && digits(value) && value.size() == 4) year = value;
    else if (name == "month" && digits(value) && value.size() <= 2) month = pad2(value);
    else if (name == "day" && digits(value) && value.size() <= 2) day = pad2(value);
    else if (value.size() >= 10 && digits(value.substr(0, 4)) && value[4] == '-' && digits(value.substr(5, 2)) &&
             value[7] == '-' && digits(value.substr(8, 2)))
      return value.substr(0, 10);
  }
  if (!year.empty() && !month.empty() && !day.empty()) return year + "-" + month + "-" + day;
  return "";
}

namespace {

using CellMap = std::map<std::pair<std::string, std::string>, PartitionCell, CellOrder>;

// What partition_matrix reads from the store, one step per table: the cells and, for the later
// steps, which cell each object belongs to.
struct MatrixBuild {
  Store& store;
  const PartitionFilter& filter;
  std::string prefix;  // "<table>/" under a filter, else "" (every key)
  CellMap cells;
  std::unordered_map<int64_t, PartitionCell*> by_object;
  std::unordered_set<int64_t> failed_objects;

  PartitionCell& cell(const std::string& table, const std::string& partition) {
    auto& c = cells[{table, partition}];
    if (c.table.empty() && c.partition.empty()) {
      c.table = table;
      c.partition = partition;
      c.day = partition_day(partition);
    }
    return c;
  }

  // The latest arrival at each key (a re-upload or replay supersedes the earlier arrival; a
  // re-drop of the same bytes, `duplicate`, does not: store.h kLatestArrivalClause).
  void read_objects() {
    auto st = store.db().prepare(
        "SELECT o.id, o.key, o.state, o.updated_at, o.error FROM objects o"
        " JOIN (SELECT MAX(id) AS id FROM objects WHERE substr(key, 1, length(CAST(? AS TEXT))) = ?"
        " AND state <> 'duplicate' GROUP BY key) m ON o.id = m.id");
    st.bind(1, prefix).bind(2, prefix);
    while (st.step()) {
      const std::string key = st.text(1);
      auto& c = cell(key_table(key), key_partition(key));
      const std::string state = st.text(2);
      ++c.objects[state];
      c.last_update_ms = std::max(c.last_update_ms, st.int64(3));
      by_object[st.int64(0)] = &c;
      if (state == "quarantined" || state == "failed_kept" || state == "failed" || state == "move_failed") {
        c.failed.push_back({st.int64(0), key, state, st.is_null(4) ? std::string() : st.text(4)});
        failed_objects.insert(st.int64(0));
      }
    }
  }

  // The newest run on each cell's objects; on a cell with a failed object, its newest failed run
  // (shown rather than a later success of another rule).
  void read_last_runs() {
    auto rt = store.db().prepare(
        "SELECT object_id, run_id, rule, key, state, started_at, ended_at FROM runs"
        " WHERE substr(key, 1, length(CAST(? AS TEXT))) = ? ORDER BY id");
    rt.bind(1, prefix).bind(2, prefix);
    std::unordered_map<PartitionCell*, PartitionCell::LastRun> last_failed;
    // Later = ended later; a run still going is later than any that ended; ties by start (id order).
    auto later = [](const PartitionCell::LastRun& a, const std::optional<PartitionCell::LastRun>& b) {
      return !b || a.ended_at.value_or(INT64_MAX) >= b->ended_at.value_or(INT64_MAX);
    };
    while (rt.step()) {
      auto it = by_object.find(rt.int64(0));
      if (it == by_object.end()) continue;
      PartitionCell::LastRun r{rt.text(1), rt.text(2), rt.text(3), rt.text(4), rt.int64(5), std::nullopt};
      if (!rt.is_null(6)) r.ended_at = rt.int64(6);
      if ((r.state == "failed" || r.state == "timed_out") && failed_objects.count(rt.int64(0))) {
        auto f = last_failed.find(it->second);
        if (f == last_failed.end()) last_failed.emplace(it->second, r);
        else if (later(r, f->second)) f->second = r;
      }
      if (later(r, it->second->last_run)) it->second->last_run = std::move(r);
    }
    for (auto& [c, r] : last_failed) c->last_run = std::move(r);
  }

  // Rules whose task has not ended.
  void read_waiting_rules() {
    auto tt = store.db().prepare("SELECT object_id, rule FROM tasks WHERE state NOT IN ('succeeded', 'failed', 'skipped')");
    while (tt.step()) {
      auto it = by_object.find(tt.int64(0));
      if (it == by_object.end()) continue;
      auto& w = it->second->waiting_rules;
      std::string rule = tt.text(1);
      if (std::find(w.begin(), w.end(), rule) == w.end()) w.push_back(std::move(rule));
    }
  }

  // The newest generation of each batch holding one of the cell's objects (the marker aside).
  void read_batches() {
    try {
      auto bt = store.db().prepare(
          "SELECT m.object_id, b.rule, b.group_key, b.generation, b.state, b.attempts FROM batch_members m"
          " JOIN batches b ON b.rule = m.rule AND b.group_key = m.group_key AND b.generation = m.generation"
          " WHERE m.marker = 0 AND substr(m.key, 1, length(CAST(? AS TEXT))) = ?");
      bt.bind(1, prefix).bind(2, prefix);
      while (bt.step()) {
        auto it = by_object.find(bt.int64(0));
        if (it == by_object.end()) continue;
        PartitionCell::Batch b{bt.text(1), bt.text(2), bt.text(4), bt.int64(3), static_cast<int>(bt.int64(5))};
        auto& list = it->second->batches;
        auto same = std::find_if(list.begin(), list.end(),
                                 [&](const PartitionCell::Batch& x) { return x.rule == b.rule && x.group == b.group; });
        if (same == list.end()) list.push_back(std::move(b));
        else if (b.generation > same->generation) *same = std::move(b);
      }
    } catch (const sql::StoreError&) {
      // a state DB not yet migrated by a newer daemon has no batches
    }
  }

  // Expectations late and still open: the last event per rule and partition decides. The partition
  // arriving (`expect.arrived`) or its alert dropped (`expect.cleared`: the rule or its expect:
  // removed or changed) closes it.
  void read_late_expectations() {
    auto et = store.db().prepare(
        "SELECT event, rule, detail FROM events"
        " WHERE event IN ('expect.late', 'expect.arrived', 'expect.cleared') ORDER BY id");
    std::map<std::pair<std::string, std::string>, nlohmann::json> open;  // (rule, partition) → detail
    while (et.step()) {
      auto detail = nlohmann::json::parse(et.text(2), nullptr, false);
      if (!detail.is_object()) continue;
      auto id = std::make_pair(et.text(1), detail.value("partition", ""));
      if (et.text(0) == "expect.late") {
        detail["rule"] = et.text(1);
        open[id] = detail;
      } else {
        open.erase(id);
        const std::string table = detail.value("table", "");
        if (et.text(0) == "expect.arrived" && (!filter.table || table == *filter.table)) {
          detail["rule"] = et.text(1);
          cell(table, id.second).arrived_late.push_back(detail);
        }
      }
    }
    for (auto& [id, detail] : open) {
      const std::string table = detail.value("table", "");
      if (filter.table && table != *filter.table) continue;
      cell(table, id.second).late.push_back(detail);
    }
  }

  // Days between a table's first and last day with no cell: `missing` cells.
  void add_missing_days() {
    std::map<std::string, std::map<std::chrono::sys_days, const PartitionCell*>> days;  // table → day → a cell
    for (const auto& [_, c] : cells)
      if (!c.day.empty() && !c.objects.empty())
        if (auto d = parse_day(c.day)) days[c.table].emplace(*d, &c);
    std::vector<PartitionCell> add;
    for (const auto& [table, by_day] : days) {
      if (by_day.size() < 2) continue;
      const auto first = by_day.begin()->first, last = by_day.rbegin()->first;
      const auto span = (last - first).count() + 1;
      // A table with fewer days than half its span is not daily (weekly, monthly on day=01, a
      // stray old file): its gaps are its cadence, not missing days.
      if (span > kMaxGapScanDays || static_cast<int64_t>(by_day.size()) * 2 < span) continue;
      const PartitionCell* before = by_day.begin()->second;
      for (auto d = first; d <= last; d += std::chrono::days(1)) {
        if (auto it = by_day.find(d); it != by_day.end()) {
          before = it->second;
          continue;
        }
        PartitionCell m;
        m.table = table;
        m.day = format_day(d);
        m.partition = partition_for_day(before->partition, m.day);
        m.missing = true;
        if (!m.partition.empty()) add.push_back(std::move(m));
      }
    }
    for (auto& m : add) {
      auto& c = cell(m.table, m.partition);
      if (c.objects.empty() && c.day == m.day) c.missing = true;  // it may hold a late expectation
    }
  }
};

}  // namespace

std::vector<PartitionCell> partition_matrix(Store& store, const PartitionFilter& filter) {
  MatrixBuild m{store, filter, filter.table ? *filter.table + "/" : "", {}, {}, {}};
  m.read_objects();
  m.read_last_runs();
  m.read_waiting_rules();
  m.read_late_expectations();
  m.read_batches();
  m.add_missing_days();
  std::vector<PartitionCell> out;
  out.reserve(m.cells.size());
  for (auto& [_, c] : m.cells) out.push_back(std::move(c));
  return out;
}

}  // namespace hivehook
