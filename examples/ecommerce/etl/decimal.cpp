#include "etl/decimal.h"

#include <cstring>

#include <algorithm>

namespace hivehook::etl {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

std::optional<std::int64_t> parse_price(std::string_view text) {
  std::size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || !std::all_of(whole.begin(), whole.end(), is_digit)) return std::nullopt;
  if (dot != std::string_view::npos &&
      (frac.empty() || frac.size() > 4 || !std::all_of(frac.begin(), frac.end(), is_digit)))
    return std::nullopt;
  std::size_t lead = whole.find_first_not_of('0');
  whole = lead == std::string_view::npos ? std::string_view{} : whole.substr(lead);
  if (whole.size() > 14) return std::nullopt;
  std::int64_t v = 0;
  for (char c : whole) v = v * 10 + (c - '0');
  for (std::size_t i = 0; i < 4; ++i) v = v * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  return v;
}

std::string normalize_price(std::string_view text) {
  std::size_t lead = 0;
  while (lead + 1 < text.size() && text[lead] == '0' && is_digit(text[lead + 1])) ++lead;
  return std::string(text.substr(lead));
}

std::optional<std::int64_t> parse_quantity(std::string_view text) {
  if (text.empty()) return std::nullopt;
  unsigned __int128 v = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > static_cast<unsigned __int128>(INT64_MAX)) return std::nullopt;
  }
  if (v == 0) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

__int128 amount_cents(std::int64_t quantity, std::int64_t price_e4) {
  // Both are non-negative, so half away from zero is half up.
  __int128 product = static_cast<__int128>(quantity) * price_e4;
  return (product + 50) / 100;
}

std::size_t format_cents(__int128 cents, char* out) {
  bool negative = cents < 0;
  unsigned __int128 v = negative ? static_cast<unsigned __int128>(-cents) : cents;
  char buf[kCentsTextMax];
  char* p = buf + sizeof buf;
  int digits = 0;
  // 64-bit division once the value fits (every realistic amount): __int128 division is a call.
  while (v > UINT64_MAX) {
    *--p = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
    if (++digits == 2) *--p = '.';
  }
  std::uint64_t w = static_cast<std::uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + static_cast<int>(w % 10));
    w /= 10;
    if (++digits == 2) *--p = '.';
  } while (w != 0 || digits < 3);
  if (negative) *--p = '-';
  std::size_t n = static_cast<std::size_t>(buf + sizeof buf - p);
  std::memcpy(out, p, n);
  return n;
}

std::string format_cents(__int128 cents) {
  char buf[kCentsTextMax];
  return std::string(buf, format_cents(cents, buf));
}

AmountClass classify_amount(__int128 cents) {
  if (cents < 5000) return AmountClass::small;
  if (cents < 50000) return AmountClass::medium;
  return AmountClass::large;
}

const char* amount_class_name(AmountClass c) {
  switch (c) {
    case AmountClass::small: return "Small";
    case AmountClass::medium: return "Medium";
    case AmountClass::large: return "Large";
  }
  return "?";
}

}  // namespace hivehook::etl
