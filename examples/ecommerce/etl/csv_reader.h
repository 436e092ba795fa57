// A streaming RFC 4180 reader with the exact record and line rules of ECOMMERCE.md.
// Memory is bounded by the record cap, not the file: bytes are read in 1 MiB chunks, and a record
// longer than the cap (a quote never closed in a large file runs to its end) keeps only its first
// `max_record` bytes (docs/decisions.md, "A record longer than 1 MiB").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "etl/byte_source.h"

namespace hivehook::etl {

struct CsvRecord {
  std::uint64_t line = 0;                // 1-based physical line where the record starts
  std::string_view raw;                  // record text, without its ending LF and the CR before it
  std::vector<std::string_view> fields;  // unquoted values; meaningful only when !malformed
  bool malformed = false;                // broken quoting or a NUL byte (field count: the caller's check)
  bool nul = false;                      // the record holds a NUL byte (then also malformed)
  bool oversized = false;                // longer than the reader's cap: `raw` is its first bytes,
                                         // cut at a character boundary (then also malformed)
  bool unclosed_quote = false;           // a quote never closed: the record ran to the end of the
                                         // input (then also malformed)
  std::uint64_t lines = 1;               // physical lines the record spans
};

enum class ReadStatus { record, end, bad_encoding };

class CsvReader {
 public:
  // The largest record kept whole, in bytes; a longer one is malformed and `oversized`.
  static constexpr std::size_t kMaxRecordBytes = 1 << 20;

  // `chunk`: bytes read at a time; `max_record`: the record cap (at least 16 bytes).
  explicit CsvReader(ByteSource& source, std::size_t chunk = 1 << 20, std::size_t max_record = kMaxRecordBytes);

  // Fills `rec` with the next non-blank record. The views stay valid until the next call.
  // bad_encoding: the file is not valid UTF-8; see error(). A record holding a NUL byte is
  // returned as a malformed record (rec.nul), not as an error of the file.
  ReadStatus next(CsvRecord& rec);

  // Why next() returned bad_encoding, with the line.
  const std::string& error() const { return error_; }
  // Physical lines consumed so far (blank ones included).
  std::uint64_t lines() const { return line_ - 1; }

 private:
  bool fill();  // reads more bytes after end_; false at end of input
  // For a record past the cap: drops the scanned bytes after its first max_record_ (checking
  // them as UTF-8), keeping an incomplete character at the end. False: they are not UTF-8.
  bool drop_overflow();
  void parse_fields(std::string_view text, CsvRecord& rec);

  ByteSource& source_;
  std::vector<char> buf_;
  std::size_t begin_ = 0;  // start of the unconsumed bytes
  std::size_t end_ = 0;    // end of the valid bytes
  std::size_t max_record_;
  bool overflow_ = false;  // the record being read passed the cap; its bytes after kept_ are gone
  std::size_t kept_ = 0;   // with overflow_: bytes of the record kept from begin_
  bool overflow_nul_ = false;  // a NUL byte among the dropped bytes
  bool eof_ = false;
  bool started_ = false;   // BOM checked
  std::uint64_t line_ = 1;
  std::string scratch_;    // unescaped quoted values
  std::string error_;
};

}  // namespace hivehook::etl
