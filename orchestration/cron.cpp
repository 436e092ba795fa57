// The crontab(5) parser and the search for the next firing (see cron.h for the syntax).
#include "orchestration/cron.h"

#include <array>
#include <vector>

namespace hivehook {

namespace {

using namespace std::chrono;

struct FieldSpec {
  const char* name;  // in messages
  int min, max;
  const std::array<std::string_view, 12>* names;  // month or weekday names (index + min), or null
};

constexpr std::array<std::string_view, 12> kMonthNames{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> kDayNames{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const FieldSpec kSecond{"second", 0, 59, nullptr};
const FieldSpec kMinute{"minute", 0, 59, nullptr};
const FieldSpec kHour{"hour", 0, 23, nullptr};
const FieldSpec kDayOfMonth{"day of month", 1, 31, nullptr};
const FieldSpec kMonth{"month", 1, 12, &kMonthNames};
const FieldSpec kDayOfWeek{"day of week", 0, 7, &kDayNames};  // 7 is Sunday too

struct Token {
  std::string_view text;
  size_t offset;
};

char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool fail(CronError* error, size_t offset, std::string message) {
  if (error) *error = {std::move(message), offset};
  return false;
}

// One number or name of a field, at s[i]; advances i.
bool parse_value(std::string_view s, size_t& i, const FieldSpec& f, size_t base, int* out, CronError* error) {
  size_t start = i;
  if (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    long v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      if (v > 1000) break;
      ++i;
    }
    if (v < f.min || v > f.max)
      return fail(error, base + start,
                  std::string(f.name) + " " + std::string(s.substr(start, i - start)) + " is out of range " +
                      std::to_string(f.min) + "-" + std::to_string(f.max));
    *out = int(v);
    return true;
  }
  size_t end = i;
  while (end < s.size() && ((s[end] >= 'a' && s[end] <= 'z') || (s[end] >= 'A' && s[end] <= 'Z'))) ++end;
  std::string word;
  for (size_t k = i; k < end; ++k) word += lower(s[k]);
  if (f.names && !word.empty()) {
    for (size_t k = 0; k < f.names->size(); ++k)
      if (!(*f.names)[k].empty() && (*f.names)[k] == word) {
        i = end;
        *out = int(k) + f.min;
        return true;
      }
  }
  // What was found, as a whole character: a UTF-8 sequence (a non-ASCII digit such as '٣') is
  // echoed whole, never its first byte alone (issue 14, F16 of the new-user test).
  size_t len = std::max<size_t>(end - start, 1);
  if (end == start && start < s.size()) {
    const auto lead = static_cast<unsigned char>(s[start]);
    const size_t seq = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    len = std::min(seq, s.size() - start);
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[start + k]) & 0xC0) != 0x80) len = 1;  // not a valid sequence: one byte
  }
  std::string what = start < s.size() ? "'" + std::string(s.substr(start, len)) + "'" : "nothing";
  return fail(error, base + start,
              "expected a " + std::string(f.name) + " (" + std::to_string(f.min) + "-" + std::to_string(f.max) +
                  (f.names ? std::string(f.names == &kMonthNames ? " or jan-dec" : " or sun-sat") : "") +
                  ") but found " + what);
}

// Parses one field ("*", "1-5/2,10") into bits min..max of `bits`.
bool parse_field(const Token& tok, const FieldSpec& f, std::bitset<64>& bits, CronError* error) {
  std::string_view s = tok.text;
  size_t i = 0;
  for (;;) {
    size_t item = i;
    int lo, hi;
    bool star = false, ranged = false;
    if (i < s.size() && s[i] == '*') {
      star = true;
      lo = f.min;
      hi = f.max == 7 ? 6 : f.max;
      ++i;
    } else {
      if (!parse_value(s, i, f, tok.offset, &lo, error)) return false;
      hi = lo;
      if (i < s.size() && s[i] == '-') {
        ++i;
        ranged = true;
        if (!parse_value(s, i, f, tok.offset, &hi, error)) return false;
        if (hi < lo)
          return fail(error, tok.offset + item,
                      std::string(f.name) + " range " + std::string(s.substr(item, i - item)) +
                          " runs backwards (write the smaller value first)");
      }
    }
    int step = 1;
    if (i < s.size() && s[i] == '/') {
      if (!star && !ranged)
        return fail(error, tok.offset + item,
                    "a step needs a range: write */S or N-M/S, not " + std::string(s.substr(item, i - item)) + "/S");
      ++i;
      size_t at = i;
      long v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v <= 1000) v = v * 10 + (s[i++] - '0');
      if (i == at) return fail(error, tok.offset + at, "expected a step (a number) after '/'");
      if (v < 1 || v > f.max - f.min + 1)
        return fail(error, tok.offset + at,
                    std::string(f.name) + " step " + std::to_string(v) + " is out of range 1-" +
                        std::to_string(f.max - f.min + 1));
      step = int(v);
    }
    for (int v = lo; v <= hi; v += step) bits.set(size_t(v));
    if (i == s.size()) return true;
    if (s[i] != ',')
      return fail(error, tok.offset + i,
                  "unexpected '" + std::string(1, s[i]) + "' in " + f.name + " field (items are *, N, N-M, */S, " +
                      "N-M/S, separated by commas)");
    ++i;
    if (i == s.size()) return fail(error, tok.offset + i - 1, "a list must not end with ','");
  }
}

template <size_t N>
bool field_into(const Token& tok, const FieldSpec& f, std::bitset<N>& out, CronError* error) {
  std::bitset<64> bits;
  if (!parse_field(tok, f, bits, error)) return false;
  for (size_t v = 0; v < N; ++v) out[v] = bits[v];
  return true;
}

// The lowest set bit at or above `from` in `bits`, or -1.
template <size_t N>
int first_at_or_above(const std::bitset<N>& bits, int from) {
  for (int v = std::max(from, 0); v < int(N); ++v)
    if (bits[size_t(v)]) return v;
  return -1;
}

}  // namespace

std::optional<CronExpression> CronExpression::parse(std::string_view text, CronError* error) {
  auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
  size_t b = 0, e = text.size();
  while (b < e && is_blank(text[b])) ++b;
  while (e > b && is_blank(text[e - 1])) --e;
  std::string_view body = text.substr(b, e - b);
  CronExpression c;
  c.text_ = std::string(body);
  if (body.empty()) {
    fail(error, 0, "the schedule is empty (write five fields, e.g. \"0 2 * * *\", or @daily)");
    return std::nullopt;
  }
  std::string expanded;
  if (body.front() == '@') {
    std::string word;
    for (char ch : body) word += lower(ch);
    if (word == "@yearly" || word == "@annually") expanded = "0 0 1 1 *";
    else if (word == "@monthly") expanded = "0 0 1 * *";
    else if (word == "@weekly") expanded = "0 0 * * 0";
    else if (word == "@daily" || word == "@midnight") expanded = "0 0 * * *";
    else if (word == "@hourly") expanded = "0 * * * *";
    else if (word == "@reboot") {
      fail(error, b, "@reboot is not a schedule (hivehook runs jobs on files and times, not at boot)");
      return std::nullopt;
    } else {
      fail(error, b,
           "unknown macro '" + std::string(body) + "' (known: @yearly, @annually, @monthly, @weekly, @daily, "
           "@midnight, @hourly)");
      return std::nullopt;
    }
    body = expanded;
  }
  std::vector<Token> tokens;
  for (size_t i = 0; i < body.size();) {
    while (i < body.size() && is_blank(body[i])) ++i;
    size_t start = i;
    while (i < body.size() && !is_blank(body[i])) ++i;
    if (i > start) tokens.push_back({body.substr(start, i - start), expanded.empty() ? b + start : b});
  }
  if (tokens.size() != 5 && tokens.size() != 6) {
    fail(error, b,
         "a schedule has 5 fields (minute hour day-of-month month day-of-week), or 6 with a leading seconds "
         "field; found " + std::to_string(tokens.size()));
    return std::nullopt;
  }
  size_t k = 0;
  c.has_seconds_ = tokens.size() == 6;
  if (c.has_seconds_) {
    if (!field_into(tokens[k++], kSecond, c.seconds_, error)) return std::nullopt;
  } else {
    c.seconds_.set(0);
  }
  const Token& dom = tokens[k + 2];
  const Token& dow = tokens[k + 4];
  std::bitset<8> dow_bits;
  if (!field_into(tokens[k], kMinute, c.minutes_, error) || !field_into(tokens[k + 1], kHour, c.hours_, error) ||
      !field_into(dom, kDayOfMonth, c.days_of_month_, error) || !field_into(tokens[k + 3], kMonth, c.months_, error) ||
      !field_into(dow, kDayOfWeek, dow_bits, error))
    return std::nullopt;
  for (size_t d = 0; d < 7; ++d) c.days_of_week_[d] = dow_bits[d];
  if (dow_bits[7]) c.days_of_week_.set(0);
  // Vixie cron's DOM_STAR / DOW_STAR: a field whose text starts with '*' is unrestricted.
  c.dom_restricted_ = dom.text.front() != '*';
  c.dow_restricted_ = dow.text.front() != '*';
  // Vixie cron's MIN_STAR / HR_STAR (cron(8), "Special considerations exist when the clock is
  // changed by less than 3 hours"), with the seconds field of the six-field form alike.
  c.wildcard_time_ = tokens[k].text.front() == '*' || tokens[k + 1].text.front() == '*' ||
                     (c.has_seconds_ && tokens[0].text.front() == '*');
  return c;
}

bool CronExpression::day_matches(int /*year*/, unsigned month, unsigned day, unsigned weekday) const {
  if (!months_[month]) return false;
  bool dom = days_of_month_[day], dow = days_of_week_[weekday];
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

bool CronExpression::matches(LocalSeconds t) const {
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<seconds> tod{t - day};
  unsigned wd = weekday{day}.c_encoding();
  return day_matches(int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()), wd) &&
         hours_[size_t(tod.hours().count())] && minutes_[size_t(tod.minutes().count())] &&
         seconds_[size_t(tod.seconds().count())];
}

std::optional<LocalSeconds> CronExpression::next_after(LocalSeconds t) const {
  LocalSeconds from = t + seconds(1);
  auto day = floor<days>(from);
  auto tod = from - day;
  int h0 = int(duration_cast<hours>(tod).count());
  int m0 = int(duration_cast<minutes>(tod).count() % 60);
  int s0 = int(tod.count() % 60);
  const auto last = day + days(366 * 9);
  while (day <= last) {
    year_month_day ymd{day};
    unsigned month = unsigned(ymd.month());
    if (!months_[month]) {
      // Jump to the first day of the next month.
      year_month next = year_month{ymd.year(), ymd.month()} + months(1);
      day = local_days{next / 1};
      h0 = m0 = s0 = 0;
      continue;
    }
    if (day_matches(int(ymd.year()), month, unsigned(ymd.day()), weekday{day}.c_encoding())) {
      for (int h = first_at_or_above(hours_, h0); h >= 0; h = first_at_or_above(hours_, h + 1)) {
        int mfrom = h == h0 ? m0 : 0;
        for (int m = first_at_or_above(minutes_, mfrom); m >= 0; m = first_at_or_above(minutes_, m + 1)) {
          int sfrom = (h == h0 && m == m0) ? s0 : 0;
          int s = first_at_or_above(seconds_, sfrom);
          if (s >= 0) return day + hours(h) + minutes(m) + seconds(s);
        }
      }
    }
    day += days(1);
    h0 = m0 = s0 = 0;
  }
  return std::nullopt;
}

}  // namespace hivehook
