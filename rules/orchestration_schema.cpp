// The tables of a rule's orchestration keys (DESIGN.md "Orchestration"): after, requires, batch,
// schedule, timezone, catch_up, expect; and the checks that tie them to the rest of the rule.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "landing/key.h"
#include "rules/schemas.h"

namespace hivehook {

namespace {
// The zone name of /usr/share/zoneinfo closest to a misspelt one ("" when none is close): every
// file under it whose name reads as a zone (Area/City, no "posix/" or "right/" copies, no tables).
std::string closest_zone_name(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path root = "/usr/share/zoneinfo";
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) {
      const auto top = it->path().lexically_relative(root).string();
      if (top == "posix" || top == "right") it.disable_recursion_pending();
      continue;
    }
    std::string rel = it->path().lexically_relative(root).string();
    if (rel.empty() || !std::isupper(static_cast<unsigned char>(rel.front())) || rel.find('.') != std::string::npos) continue;
    names.push_back(std::move(rel));
  }
  std::vector<std::string_view> views(names.begin(), names.end());
  return schema::closest(name, views);
}
}  // namespace


using schema::Field;
using schema::Mapping;
using schema::Reader;
using schema::Type;
using schema::Value;

namespace {

SourceAt source_at(const Reader& rd, const YAML::Mark& m) {
  return SourceAt{rd.file(), m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}

// A mark `offset` characters into a scalar (past its opening quote, when quoted on one line).
YAML::Mark mark_inside(const YAML::Node& scalar, size_t offset) {
  YAML::Mark m = scalar.Mark();
  bool quoted = scalar.Tag() == "!";  // yaml-cpp tags quoted scalars "!"
  m.column += int(offset) + (quoted ? 1 : 0);
  return m;
}

std::optional<std::string> check_rule_names(const Value& v, Reader& rd) {
  for (const auto& n : v.list)
    if (n.empty()) return std::string("a rule name must not be empty");
  // A name twice is harmless but is a slip (issue 14, F10 of the new-user test: it passed silently).
  for (size_t i = 0; i < v.list.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (v.list[i] == v.list[j] && i < v.list_marks.size()) {
        rd.warning(v.list_marks[i], "'" + v.list[i] + "' is named twice in this list");
        break;
      }
  return std::nullopt;
}

const Mapping<BatchSpec>& batch_when_schema() {
  static const Mapping<BatchSpec> m{
      .name = "when",
      .description = "When a group is complete: exactly one of `marker`, `count` or `quiet`.",
      .fields =
          {
              {.key = "marker",
               .description = "The group is complete when an object with this file name arrives in it (e.g. "
                              "`_SUCCESS`, the Hadoop/Spark convention). The marker is not listed in `Records[]`.",
               .nonempty = true,
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 if (v.str.find('/') != std::string::npos) return "'marker' is a file name, without '/'";
                 return std::nullopt;
               },
               .set = [](BatchSpec& b, const Value& v, Reader&) {
                 b.when = BatchSpec::When::marker;
                 b.marker = v.str;
               }},
              {.key = "count", .type = Type::integer, .description = "The group is complete with this many objects.",
               .min = 1, .max = 1000000,
               .set = [](BatchSpec& b, const Value& v, Reader&) {
                 b.when = BatchSpec::When::count;
                 b.count = int(v.num);
               }},
              {.key = "quiet", .type = Type::duration,
               .description = "The group is complete when no object joined it for this long.", .min = 1,
               .max = 7LL * 24 * 3'600'000,
               .set = [](BatchSpec& b, const Value& v, Reader&) {
                 b.when = BatchSpec::When::quiet;
                 b.quiet = v.dur;
               }},
          },
      .exactly_one_of = {{"marker", "count", "quiet"}},
  };
  return m;
}

const Mapping<ExpectSpec>& expect_schema() {
  static const Mapping<ExpectSpec> m{
      .name = "expect",
      .description = "The partition of each period must arrive by a deadline, else `expect.late` (and "
                     "`expect.arrived` when it finally comes).",
      .fields =
          {
              {.key = "every", .type = Type::duration, .required = true,
               .description = "The period: whole minutes dividing a day (`15m`, `1h`, `1d`), aligned on midnight "
                              "in the rule's `timezone`.",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 std::string p = ExpectationSchedule::every_problem(v.dur, v.str);
                 if (!p.empty()) return p;
                 return std::nullopt;
               },
               .set = [](ExpectSpec& e, const Value& v, Reader&) { e.schedule.every = v.dur; }},
              {.key = "by", .required = true,
               .description = "`HH:MM` (or `HH:MM:SS`) after the period ends: with `every: 1d`, `by: \"06:00\"` "
                              "expects day D's partition by 06:00 on day D+1.",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 if (!parse_time_of_day(v.str)) return "'by' must be a time HH:MM or HH:MM:SS (00:00-23:59:59), not '" + v.str + "'";
                 return std::nullopt;
               },
               .set = [](ExpectSpec& e, const Value& v, Reader&) { e.schedule.by = *parse_time_of_day(v.str); }},
              {.key = "partition", .required = true,
               .description = "The expected partition, `name={token}` folders: `{yyyy}` `{mm}` `{dd}` `{hh}` `{mi}` "
                              "of the period's start, e.g. `year={yyyy}/month={mm}/day={dd}`.",
               .check = [](const Value& v, Reader&) -> std::optional<std::string> {
                 std::string err;
                 if (!parse_partition_template(v.str, &err)) return err;
                 return std::nullopt;
               },
               .set = [](ExpectSpec& e, const Value& v, Reader&) {
                 e.partition_text = v.str;
                 e.schedule.partition = *parse_partition_template(v.str, nullptr);
               }},
              {.key = "notify", .type = Type::string_list, .default_text = "[]",
               .description = "Targets told of `expect.late`; those told a partition was late are told when its alert clears (`expect.arrived`, `expect.cleared`).", .scalar_as_list = true,
               .check = [](const Value& v, Reader& rd) -> std::optional<std::string> {
                 check_notify_targets(v, rd);
                 return std::nullopt;
               },
               .set = [](ExpectSpec& e, const Value& v, Reader&) { e.notify = v.list; }},
          },
      .finish = [](ExpectSpec& e, const YAML::Node& node, Reader& rd) {
        std::string p = e.schedule.template_problem();
        if (!p.empty()) rd.error(node["partition"].Mark(), p);
      }};
  return m;
}

const Mapping<BatchSpec>& batch_schema() {
  static const Mapping<BatchSpec> m{
      .name = "batch",
      .description = "A fan-in rule: matching objects are collected into groups; a complete group runs the job "
                     "once with every member in `Records[]`, after the members' own rules have ended.",
      .fields =
          {
              {.key = "group", .required = true,
               .description = "Objects whose keys render the same text form one group: `{table}`, `{bucket}`, "
                              "`{partition.NAME}`, e.g. `{table}/{partition.year}/{partition.month}/{partition.day}`.",
               .check = [](const Value& v, Reader& rd) -> std::optional<std::string> {
                 std::string err;
                 size_t at = 0;
                 if (!GroupTemplate::parse(v.str, &err, &at)) {
                   rd.error(mark_inside(v.node, at), err);
                   return std::nullopt;
                 }
                 return std::nullopt;
               },
               .set = [](BatchSpec& b, const Value& v, Reader&) {
                 if (auto t = GroupTemplate::parse(v.str)) b.group = *t;
               }},
              {.key = "when", .type = Type::mapping, .required = true, .description = "When a group is complete.",
               .nested = "when",
               .set = [](BatchSpec& b, const Value& v, Reader& rd) { schema::parse_mapping(v.node, batch_when_schema(), b, rd); }},
          },
  };
  return m;
}

// Placeholders of a command that name one object: meaningless for a batch or schedule job.
void check_command_placeholders(const Rule& r, const YAML::Node& node, Reader& rd) {
  const auto* cmd = std::get_if<CommandJob>(&r.job.kind);
  const YAML::Node list = node["job"] && node["job"].IsMap() ? node["job"]["command"] : YAML::Node();
  if (!cmd || !list || !list.IsSequence()) return;
  for (size_t i = 0; i < cmd->argv.size() && i < list.size(); ++i) {
    const std::string& a = cmd->argv[i];
    for (size_t open = a.find('{'); open != std::string::npos; open = a.find('{', open + 1)) {
      size_t close = a.find('}', open);
      if (close == std::string::npos) break;
      std::string name = a.substr(open + 1, close - open - 1);
      bool per_object = name == "path" || name == "key" || name == "name";
      bool partition = name.rfind("partition.", 0) == 0;
      if (r.schedule && (per_object || partition || name == "table" || name == "group"))
        rd.error(list[i].Mark(), "'{" + name + "}' names an object, but a schedule rule runs on a clock (its event "
                                 "is an EventBridge Scheduled Event on stdin)");
      else if (r.batch && per_object)
        rd.error(list[i].Mark(), "'{" + name + "}' names one object, but a batch job runs once for a whole group: "
                                 "use {group}, or read Records[] from the event on stdin");
      else if (r.batch && partition &&
               std::find(r.batch->group.partition_names().begin(), r.batch->group.partition_names().end(),
                         name.substr(10)) == r.batch->group.partition_names().end())
        rd.error(list[i].Mark(), "'{" + name + "}' may differ between a group's members: only columns of the "
                                 "group template are one value per group");
      else if (r.batch && name == "table" && !r.batch->group.uses_table())
        rd.error(list[i].Mark(), "'{table}' may differ between a group's members: add {table} to the group template");
      else if (!r.batch && name == "group")
        rd.error(list[i].Mark(), "'{group}' is only known to batch rules");
    }
  }
}

}  // namespace

std::vector<Field<Rule>> orchestration_rule_fields() {
  return {
      {.key = "after", .type = Type::string_list, .default_text = "[]",
       .description = "On the same object, start only after each named rule's run succeeded; when one failed for "
                      "good this run is `skipped`.",
       .scalar_as_list = true, .check = check_rule_names,
       .set = [](Rule& r, const Value& v, Reader& rd) {
         r.after = v.list;
         for (const auto& m : v.list_marks) r.after_at.push_back(source_at(rd, m));
       }},
      {.key = "requires", .type = Type::string_list, .default_text = "[]",
       .description = "Matching objects wait (state `waiting`) until each named rule has succeeded at least once, "
                      "on any object; then they are released in key order.",
       .scalar_as_list = true, .check = check_rule_names,
       .set = [](Rule& r, const Value& v, Reader& rd) {
         r.required_rules = v.list;
         for (const auto& m : v.list_marks) r.required_at.push_back(source_at(rd, m));
       }},
      {.key = "batch", .type = Type::mapping, .description = "Collect objects into groups; run once per group.",
       .nested = "batch",
       .set = [](Rule& r, const Value& v, Reader& rd) {
         BatchSpec b;
         if (schema::parse_mapping(v.node, batch_schema(), b, rd)) r.batch = std::move(b);
       }},
      {.key = "schedule",
       .description = "Run on a clock instead of on objects: 5-field cron (`MIN HOUR DOM MON DOW`, names and "
                      "@daily-style macros allowed; a 6th leading field is seconds). Its event is an EventBridge "
                      "`Scheduled Event`.",
       .check = [](const Value& v, Reader& rd) -> std::optional<std::string> {
         CronError err;
         if (auto c = CronExpression::parse(v.str, &err)) {
           if (!c->next_after(LocalSeconds{std::chrono::seconds(1704067200)}))
             return "schedule '" + v.str + "' never fires (no such day)";
           return std::nullopt;
         }
         rd.error(mark_inside(v.node, err.offset), "bad schedule: " + err.message);
         return std::nullopt;
       },
       .set = [](Rule& r, const Value& v, Reader&) {
         if (auto c = CronExpression::parse(v.str)) {
           if (!r.schedule) r.schedule.emplace();
           r.schedule->cron = *c;
         }
       }},
      {.key = "timezone", .default_text = "UTC",
       .description = "IANA time zone (`Europe/Berlin`) of `schedule` and `expect`, from the system's zoneinfo.",
       .check = [](const Value& v, Reader&) -> std::optional<std::string> {
         std::string err;
         if (TimeZone::locate(v.str, &err)) return std::nullopt;
         // A misspelt zone gets the closest name of the zone database (issue 14 retest 3 G5).
         const std::string generic = "write an IANA name such as Europe/Berlin)";
         if (auto hint = closest_zone_name(v.str); !hint.empty() && err.ends_with(generic))
           err.replace(err.size() - generic.size(), generic.size(), "did you mean '" + hint + "'?)");
         return err;
       },
       .set = [](Rule& r, const Value& v, Reader&) { r.timezone = *TimeZone::locate(v.str); }},
      {.key = "catch_up", .type = Type::boolean, .default_text = "true",
       .description = "A firing missed while the daemon was down runs once at start (`false`: not at all).",
       .only_with = "schedule",
       .set = [](Rule& r, const Value& v, Reader&) {
         if (!r.schedule) r.schedule.emplace();
         r.schedule->catch_up = v.flag;
       }},
      {.key = "expect", .type = Type::mapping, .description = "A deadline for each period's partition.",
       .nested = "expect",
       .set = [](Rule& r, const Value& v, Reader& rd) {
         ExpectSpec e;
         if (schema::parse_mapping(v.node, expect_schema(), e, rd)) r.expect = std::move(e);
       }},
  };
}

void orchestration_keys_together(const YAML::Node& node, Reader& rd) {
  if (!node.IsMap() || !node["schedule"]) return;
  for (const char* key : {"batch", "after", "requires", "expect", "settle"})
    if (node[key]) rd.error(node[key].Mark(), std::string("'") + key + "' does not apply to a schedule rule (it runs on a clock, not on objects)");
}

void finish_orchestration(Rule& r, const YAML::Node& node, Reader& rd) {
  if (r.expect) r.expect->schedule.zone = r.timezone;
  // A batch or scheduled run moves no file: each member's own rules decide where it goes, and a
  // schedule has none. `action` there is ignored (issue 14, F18 of the new-user test): said, not
  // refused, so a rules file written before stays valid; `notify` there is used.
  if (r.batch || r.schedule)
    for (const char* block : {"on_success", "on_failure"})
      if (node[block] && node[block].IsMap() && node[block]["action"])
        rd.warning(node[block]["action"].Mark(),
                   std::string("'") + block + ".action' does nothing on a " + (r.batch ? "batch" : "schedule") +
                       " rule: " + (r.batch ? "each member's own rules decide where its file goes" : "it has no file") +
                       " (only 'notify' is used here)");
  if (node["timezone"] && !r.schedule && !r.expect)
    rd.warning(node["timezone"].Mark(), "'timezone' applies only to 'schedule' and 'expect'");
  if (r.batch && node["after"])
    rd.error(node["after"].Mark(), "a batch rule already runs after every other rule of its members: drop 'after'");
  // Keys that act on each admitted object, on a rule that has no per-object run (issue 14, G9 and
  // G14 of the new-user retest: accepted and silently ignored, or a false late alert).
  if (r.batch && node["expect"])
    rd.error(node["expect"].Mark(),
             "'expect' does not apply to a batch rule (its objects are admitted for their own rules, not the "
             "batch's): put it on the rule that loads these files (a rule with the same match and "
             "'job: {builtin: noop}' will do)");
  if (r.batch && node["settle"])
    rd.error(node["settle"].Mark(),
             "'settle' does not apply to a batch rule (a file is admitted once it settled under the object rules "
             "matching it): put it on those rules (a rule with the same match and 'job: {builtin: noop}' will do)");
  // The partition columns a batch group or an expectation names must be ones the match can produce.
  auto produce = [&](const std::vector<std::string>& names, const YAML::Node& at, const char* what) {
    for (const auto& n : names)
      if (!match_can_produce_partition(r.match, n))
        rd.error(at.Mark(), std::string(what) + " names partition '" + n + "', which no key matched by this rule has" +
                                (r.match.glob ? " (its glob '" + *r.match.glob + "' has no '" + n + "=' folder)" : ""));
  };
  // A marker the rule never sees never completes a batch (issue 14, F11 of the new-user test: a
  // `*.csv` glob with `marker: _SUCCESS`, or `marker: .done` under the default ignore `.*`).
  if (r.batch && r.batch->when == BatchSpec::When::marker && node["batch"]["when"]["marker"]) {
    const YAML::Node& at = node["batch"]["when"]["marker"];
    const std::string& marker = r.batch->marker;
    if (r.match.glob) {
      const std::string& g = *r.match.glob;
      const std::string last = g.substr(g.rfind('/') == std::string::npos ? 0 : g.rfind('/') + 1);
      if (last != "**" && !basename_glob_match(last, marker))
        rd.error(at.Mark(), "batch.when.marker '" + marker + "' is a file this rule never matches (the file part '" +
                                last + "' of its glob does not match it): the batch would never complete. Widen the " +
                                "match to the group's folder (e.g. '" + g.substr(0, g.size() - last.size()) + "*')");
    }
    if (r.match.suffix && r.match.suffix->find('/') == std::string::npos &&
        (marker.size() < r.match.suffix->size() ||
         marker.compare(marker.size() - r.match.suffix->size(), std::string::npos, *r.match.suffix) != 0))
      rd.error(at.Mark(), "batch.when.marker '" + marker + "' is a file this rule never matches (it does not end with " +
                              "the rule's suffix '" + *r.match.suffix + "'): the batch would never complete");
    if (rd.config)
      for (const auto& pattern : rd.config->ignore)
        if (basename_glob_match(pattern, marker)) {
          rd.error(at.Mark(), "batch.when.marker '" + marker + "' is an ignored name (the config's ignore pattern '" +
                                  pattern + "'): it is never processed, so the batch would never complete. Name " +
                                  "another marker, or drop the pattern from 'ignore'");
          break;
        }
  }
  if (r.batch && node["batch"]["group"]) {
    const YAML::Node& at = node["batch"]["group"];
    produce(r.batch->group.partition_names(), at, "batch.group");
    // A key the rule matches that lacks a column of the group joins no group: refused, as it would
    // be archived with no batch (issue 14, F3 of the new-user test). Checked after "cannot produce".
    for (const auto& n : r.batch->group.partition_names())
      if (match_can_produce_partition(r.match, n) && !match_always_has_partition(r.match, n))
        rd.error(at.Mark(), "batch.group names partition '" + n + "', which a key this rule matches can lack (its match " +
                                "does not require a '" + n + "=' folder): such a key would join no group. Narrow the " +
                                "match, e.g. a glob with a '" + n + "=*' folder");
    if (r.batch->group.uses_table() && !match_always_has_table(r.match))
      rd.error(at.Mark(), std::string("batch.group names {table}, which a key this rule matches can lack (a top-level "
                                      "file has no table): such a key would join no group. Narrow the match to files "
                                      "in a folder, e.g. a glob such as 'TABLE/*'"));
  }
  if (r.expect && node["expect"]["partition"]) {
    std::vector<std::string> names;
    for (const auto& s : r.expect->schedule.partition) names.push_back(s.name);
    produce(names, node["expect"]["partition"], "expect.partition");
  }
  check_command_placeholders(r, node, rd);
}

std::vector<DocSection> orchestration_doc_sections() {
  auto section = [](std::string name, const auto& m) {
    return DocSection{std::move(name), std::string(m.description), schema::doc_rows(m)};
  };
  return {section("batch", batch_schema()), section("when", batch_when_schema()), section("expect", expect_schema())};
}

}  // namespace hivehook
