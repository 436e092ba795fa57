// Fuzzes the templates of orchestration rules: a batch `group` ("{table}/{partition.day}"), an
// expectation's `partition` ("year={yyyy}/...") and `by` ("06:00"). Input: "TEMPLATE\nKEY".
// fuzz-link: hivehook_orchestration
#include <cstdint>
#include <string>
#include <string_view>

#include "orchestration/expectation.h"
#include "orchestration/group_template.h"

using namespace std::chrono;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view text = in.substr(0, nl);
  std::string_view raw_key = nl == std::string_view::npos ? "t/a=1/b=2/x" : in.substr(nl + 1);
  auto key = hivehook::parse_key(raw_key);

  std::string err;
  size_t at = 0;
  auto g = hivehook::GroupTemplate::parse(text, &err, &at);
  if (!g && (err.empty() || at > text.size())) __builtin_trap();
  if (g && key) {
    auto r = g->render(*key, "bucket");
    // Rendering needs every named column; a key with all of them always renders.
    bool has_all = !g->uses_table() || !key->table.empty();
    for (const auto& n : g->partition_names()) has_all = has_all && key->partition_value(n).has_value();
    if (has_all != r.has_value()) __builtin_trap();
  }

  (void)hivehook::parse_time_of_day(text);
  auto p = hivehook::parse_partition_template(text, &err);
  if (!p) {
    if (err.empty()) __builtin_trap();
    return 0;
  }
  hivehook::ExpectationSchedule e;
  e.partition = *p;
  e.every = hours(1);
  e.by = minutes(15);
  auto start = e.period_start(hivehook::LocalSeconds{seconds(1700000000)});
  std::string rendered = e.render(start);
  // Rendering is total once parsed, and a period's deadline follows its start.
  if (rendered.empty()) __builtin_trap();
  if (e.deadline(start) <= hivehook::SystemTime{seconds(1700000000)}) __builtin_trap();
  return 0;
}
