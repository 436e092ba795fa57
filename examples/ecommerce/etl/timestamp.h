// transaction_ts: exactly "YYYY-MM-DDTHH:MM:SSZ", a real Gregorian date and time, years 0001-9999.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hivehook::etl {

// Seconds since 1970-01-01T00:00:00Z (negative before), or nullopt when not exact or not real.
std::optional<std::int64_t> parse_timestamp(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d);

bool is_leap_year(int y);
unsigned days_in_month(int y, unsigned m);

}  // namespace hivehook::etl
