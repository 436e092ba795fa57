#include "etl/pg_copy_binary.h"

#include <cstring>
#include <stdexcept>

namespace hivehook::etl {

namespace {
constexpr std::int64_t kPgEpochSeconds = 946684800;  // 2000-01-01T00:00:00Z, PostgreSQL's epoch
constexpr std::int64_t kPgEpochDays = 10957;
constexpr std::uint16_t kNumericPositive = 0x0000;
}  // namespace

PgBinaryCopy::PgBinaryCopy() {
  buf_.assign("PGCOPY\n\377\r\n\0", 11);
  be32(0);  // flags: no OIDs
  be32(0);  // header extension length
}

void PgBinaryCopy::be16(std::uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  buf_.append(b, 2);
}

void PgBinaryCopy::be32(std::uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  buf_.append(b, 4);
}

void PgBinaryCopy::be64(std::uint64_t v) {
  be32(static_cast<std::uint32_t>(v >> 32));
  be32(static_cast<std::uint32_t>(v));
}

void PgBinaryCopy::row(std::int16_t fields) { be16(static_cast<std::uint16_t>(fields)); }

void PgBinaryCopy::null() { be32(0xFFFFFFFFu); }

void PgBinaryCopy::int8(std::int64_t v) {
  be32(8);
  be64(static_cast<std::uint64_t>(v));
}

void PgBinaryCopy::text(std::string_view s) {
  if (std::memchr(s.data(), '\0', s.size()) == nullptr) {
    be32(static_cast<std::uint32_t>(s.size()));
    buf_.append(s);
    return;
  }
  std::string safe;
  for (char c : s) {
    if (c == '\0')
      safe.append("\xEF\xBF\xBD");
    else
      safe.push_back(c);
  }
  text(safe);
}

void PgBinaryCopy::numeric(std::string_view decimal) {
  // Base-10000 digit groups aligned on the decimal point: the integer part padded on the left,
  // the fraction on the right; leading and trailing zero groups dropped (weight adjusted).
  std::size_t dot = decimal.find('.');
  std::string_view whole = decimal.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : decimal.substr(dot + 1);
  if (whole.size() + frac.size() > 4 * 60) throw std::invalid_argument("numeric: too many digits");
  std::uint16_t groups[64];
  int n = 0;
  const std::size_t lead = (4 - whole.size() % 4) % 4;
  std::size_t at = 0;
  std::uint16_t g = 0;
  for (std::size_t i = 0; i < lead + whole.size(); ++i) {
    g = static_cast<std::uint16_t>(g * 10 + (i < lead ? 0 : whole[i - lead] - '0'));
    if (++at == 4) {
      groups[n++] = g;
      g = 0;
      at = 0;
    }
  }
  const int int_groups = n;
  for (std::size_t i = 0; i < (frac.size() + 3) / 4 * 4; ++i) {
    g = static_cast<std::uint16_t>(g * 10 + (i < frac.size() ? frac[i] - '0' : 0));
    if (++at == 4) {
      groups[n++] = g;
      g = 0;
      at = 0;
    }
  }
  int first = 0, last = n;
  while (first < last && groups[first] == 0) ++first;
  while (last > first && groups[last - 1] == 0) --last;
  const int ndigits = last - first;
  const int weight = ndigits == 0 ? 0 : int_groups - 1 - first;
  be32(static_cast<std::uint32_t>(8 + 2 * ndigits));
  be16(static_cast<std::uint16_t>(ndigits));
  be16(static_cast<std::uint16_t>(static_cast<std::int16_t>(weight)));
  be16(kNumericPositive);
  be16(static_cast<std::uint16_t>(frac.size()));  // dscale
  for (int i = first; i < last; ++i) be16(groups[i]);
}

void PgBinaryCopy::timestamp(std::int64_t epoch_seconds) {
  be32(8);
  be64(static_cast<std::uint64_t>((epoch_seconds - kPgEpochSeconds) * 1000000));
}

void PgBinaryCopy::date(std::int64_t epoch_days) {
  be32(4);
  be32(static_cast<std::uint32_t>(static_cast<std::int32_t>(epoch_days - kPgEpochDays)));
}

void PgBinaryCopy::trailer() { be16(0xFFFF); }

}  // namespace hivehook::etl
