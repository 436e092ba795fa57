// Durations as users write them: "250ms", "30s", "10m", "1h", "1h30m", "1d" (24h), and a bare "0".
#include <limits>

#include "rules/config.h"

namespace hivehook {

namespace {
// Ten years: anything longer is a typo, and it keeps the arithmetic far from overflow.
constexpr long long kMaxMs = 10LL * 366 * 24 * 3600 * 1000;
}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (text.empty()) return std::nullopt;
  long long total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    long long n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxMs) return std::nullopt;
      ++i;
    }
    long long scale;
    if (text.substr(i, 2) == "ms") {
      scale = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      scale = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      scale = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      scale = 3'600'000;
      ++i;
    } else if (i < text.size() && text[i] == 'd') {  // a day of 24 hours (expect: {every: 1d})
      scale = 86'400'000;
      ++i;
    } else {
      return std::nullopt;  // a number needs a unit ("30" could mean anything)
    }
    if (n > kMaxMs / scale) return std::nullopt;
    total += n * scale;
    if (total > kMaxMs) return std::nullopt;
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace hivehook
