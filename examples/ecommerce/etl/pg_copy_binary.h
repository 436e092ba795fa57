// PostgreSQL's binary COPY format, written into a buffer: the server reads int8, numeric,
// timestamp and date values as they are stored instead of parsing their text.
// https://www.postgresql.org/docs/15/sql-copy.html ("Binary Format"); the value layouts are those
// of the types' send/recv functions (numeric.c numeric_send, timestamp.c, date.c).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hivehook::etl {

class PgBinaryCopy {
 public:
  PgBinaryCopy();  // starts with the file header

  void row(std::int16_t fields);           // a tuple of `fields` values follows
  void null();                             // a NULL value
  void int8(std::int64_t v);               // BIGINT
  void text(std::string_view utf8);        // TEXT; a NUL byte (never valid in PostgreSQL text)
                                           // is written as U+FFFD
  // NUMERIC from a non-negative decimal text ("0.125", "50.00", "7"): digits, an optional '.'
  // and digits (at most 240 digits: std::invalid_argument); the scale is the number of fraction
  // digits, kept as written.
  void numeric(std::string_view decimal);
  void timestamp(std::int64_t epoch_seconds);  // TIMESTAMP (without time zone), UTC wall clock
  void date(std::int64_t epoch_days);          // DATE
  void trailer();                              // the end of the data

  std::string& bytes() { return buf_; }  // what to send; clear() it once sent

 private:
  void be16(std::uint16_t v);
  void be32(std::uint32_t v);
  void be64(std::uint64_t v);
  std::string buf_;
};

}  // namespace hivehook::etl
