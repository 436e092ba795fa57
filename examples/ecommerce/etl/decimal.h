// Exact money: prices are integers in 1/10000, amounts integers in cents. No floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hivehook::etl {

// A non-negative decimal with at most 4 fraction digits ("7", "29.99", "0.125"), in 1/10000.
// The integer part is limited to 14 digits so every price × quantity fits in 128 bits.
std::optional<std::int64_t> parse_price(std::string_view text);

// The price text kept as given, except leading zeros of the integer part ("007.50" -> "7.50"),
// so SQLite text and PostgreSQL NUMERIC print the same value.
std::string normalize_price(std::string_view text);

// ASCII digits only, not zero, leading zeros allowed ("007" is 7). Values beyond int64 are refused
// too: the warehouse column is a 64-bit integer.
std::optional<std::int64_t> parse_quantity(std::string_view text);

// quantity × price rounded half away from zero to cents.
__int128 amount_cents(std::int64_t quantity, std::int64_t price_e4);

// "50.00", "0.13", "123456789012.34"
std::string format_cents(__int128 cents);
// The same into `out` (at least kCentsTextMax bytes); returns the length. No allocation.
inline constexpr std::size_t kCentsTextMax = 48;  // 39 digits of a 128-bit value, '.', '-'
std::size_t format_cents(__int128 cents, char* out);

enum class AmountClass { small, medium, large };
AmountClass classify_amount(__int128 cents);  // Small < 50.00 <= Medium < 500.00 <= Large
const char* amount_class_name(AmountClass c);

}  // namespace hivehook::etl
