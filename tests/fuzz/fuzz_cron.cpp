// Fuzzes the cron parser (a rule's `schedule:`) and the next-firing search: input is
// "EXPRESSION" or "EXPRESSION\nSECONDS" (a start time as Unix seconds; default 2024-01-01).
// fuzz-link: hivehook_orchestration
#include <cstdint>
#include <string>
#include <string_view>

#include "orchestration/cron.h"
#include "orchestration/time_zone.h"

using namespace std::chrono;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view text = in.substr(0, nl);
  long long start = 1704067200;
  if (nl != std::string_view::npos) {
    long long v = 0;
    for (char c : in.substr(nl + 1, 12))
      if (c >= '0' && c <= '9') v = v * 10 + (c - '0');
    start = v % (200LL * 365 * 86400);  // 1970..2169
  }
  hivehook::CronError err;
  auto c = hivehook::CronExpression::parse(text, &err);
  if (!c) {
    if (err.message.empty()) __builtin_trap();  // a refusal always says why
    if (err.offset > text.size()) __builtin_trap();  // and points inside the text
    return 0;
  }
  // Parsing is deterministic and the text kept is the trimmed input.
  auto again = hivehook::CronExpression::parse(c->text());
  if (!again || again->text() != c->text()) __builtin_trap();

  hivehook::LocalSeconds t{seconds(start)};
  for (int i = 0; i < 3; ++i) {
    auto next = c->next_after(t);
    if (!next) break;
    if (*next <= t || !c->matches(*next)) __builtin_trap();
    if (!c->has_seconds() && next->time_since_epoch().count() % 60 != 0) __builtin_trap();
    t = *next;
  }
  static const auto berlin = hivehook::TimeZone::locate("Europe/Berlin");
  hivehook::SystemTime after{seconds(start)};
  if (berlin) {
    auto at = hivehook::next_firing(*c, *berlin, after);
    if (at && *at <= after) __builtin_trap();
    // The latest firing within three days after: in the span, and nothing fires after it in it.
    const hivehook::SystemTime until = after + hours(72);
    auto last = hivehook::last_firing_between(*c, *berlin, after, until);
    if (last.has_value() != (at && *at <= until)) __builtin_trap();
    if (last && (*last <= after || *last > until || *last < *at)) __builtin_trap();
    if (last) {
      auto beyond = hivehook::next_firing(*c, *berlin, *last);
      if (beyond && *beyond <= until) __builtin_trap();
    }
  }
  return 0;
}
