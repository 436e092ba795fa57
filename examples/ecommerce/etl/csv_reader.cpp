#include "etl/csv_reader.h"

#include <algorithm>
#include <cstring>

#include "etl/utf8.h"

namespace hivehook::etl {

CsvReader::CsvReader(ByteSource& source, std::size_t chunk, std::size_t max_record)
    : source_(source), max_record_(std::max<std::size_t>(max_record, 16)) {
  buf_.resize(std::max<std::size_t>(chunk, 16));
}

namespace {
bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
}  // namespace

bool CsvReader::drop_overflow() {
  if (!overflow_) {
    // The cap is the record's length without the CR before its LF, which may be the next byte.
    if (end_ - begin_ <= max_record_ + 1) return true;
    overflow_ = true;
    kept_ = max_record_;
    // Keep whole characters: back off over at most 3 continuation bytes.
    for (int i = 0; i < 3 && kept_ > 0 && continuation(buf_[begin_ + kept_]); ++i) --kept_;
  }
  const std::size_t from = begin_ + kept_;
  std::size_t to = end_;  // keep a character that may go on in the next read
  for (int i = 0; i < 3 && to > from && continuation(buf_[to - 1]); ++i) --to;
  if (to > from && static_cast<unsigned char>(buf_[to - 1]) >= 0xC0) --to;
  const std::string_view dropped(buf_.data() + from, to - from);
  if (!is_valid_utf8(dropped)) return false;
  if (dropped.find('\0') != std::string_view::npos) overflow_nul_ = true;
  std::memmove(buf_.data() + from, buf_.data() + to, end_ - to);
  end_ = from + (end_ - to);
  return true;
}

bool CsvReader::fill() {
  if (eof_) return false;
  // Keep the unconsumed bytes, move them to the front, grow only for a record bigger than the buffer.
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  std::size_t got = source_.read(buf_.data() + end_, buf_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

ReadStatus CsvReader::next(CsvRecord& rec) {
  if (!started_) {
    started_ = true;
    while (end_ < 3 && fill()) {
    }
    if (end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) begin_ = 3;
  }
  for (;;) {
    // Find the end of the record: an LF after an even number of quotes.
    std::size_t scan = begin_;
    std::size_t lfs = 0;
    bool odd = false;
    bool has_lf = false;
    bool tail_lf = false;  // the bytes read so far end with an LF (inside quotes)
    std::size_t rec_end = 0;
    for (;;) {
      const char* base = buf_.data();
      const void* lf = scan < end_ ? std::memchr(base + scan, '\n', end_ - scan) : nullptr;
      std::size_t stop = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - base) : end_;
      if (std::count(base + scan, base + stop, '"') & 1) odd = !odd;
      if (lf) {
        ++lfs;
        scan = stop + 1;
        if (!odd) {
          has_lf = true;
          rec_end = stop;
          break;
        }
        continue;
      }
      // Scanned up to end_ without a record end: read more (fill() moves the bytes to the front).
      // Past the cap, the scanned bytes after the kept ones go first (their quotes and LFs counted).
      tail_lf = end_ > begin_ && buf_[end_ - 1] == '\n';
      if (!drop_overflow()) {
        error_ = "line " + std::to_string(line_) + ": not valid UTF-8";
        return ReadStatus::bad_encoding;
      }
      std::size_t scanned = end_ - begin_;
      if (!fill()) {
        rec_end = end_;
        break;
      }
      scan = begin_ + scanned;
    }
    if (!has_lf && rec_end == begin_) return ReadStatus::end;

    std::size_t length = rec_end - begin_;
    if (has_lf && length > 0 && buf_[rec_end - 1] == '\r') --length;  // the CR the record end drops
    const bool oversized = overflow_ || length > max_record_;
    std::string_view text(buf_.data() + begin_, rec_end - begin_);
    if (oversized) {
      // The kept part ends where drop_overflow() cut it: moving that cut now would join the
      // prefix's last bytes with bytes that came after a dropped stretch (a fuzzed file made
      // "EF BB" + dropped '"' + "BF" look like a valid character).
      std::size_t kept = kept_;
      if (!overflow_) {
        kept = max_record_;
        for (int i = 0; i < 3 && kept > 0 && continuation(text[kept]); ++i) --kept;
      }
      if (!is_valid_utf8(text.substr(kept))) {
        error_ = "line " + std::to_string(line_) + ": not valid UTF-8";
        return ReadStatus::bad_encoding;
      }
      if (text.substr(kept).find('\0') != std::string_view::npos) overflow_nul_ = true;
      text = text.substr(0, kept);
    }
    std::uint64_t start_line = line_;
    line_ += lfs + (has_lf ? 0 : 1);
    begin_ = has_lf ? rec_end + 1 : rec_end;
    const bool dropped_nul = overflow_nul_;
    overflow_ = overflow_nul_ = false;
    kept_ = 0;
    if (has_lf && !oversized && !text.empty() && text.back() == '\r') text.remove_suffix(1);
    // Blank (skipped, still counted): a single line that is empty once the CR before its LF is
    // dropped, or a lone CR ending the file without LF. "\r\r\n" is a record: one CR of data.
    bool single_line = lfs <= (has_lf ? 1u : 0u);
    if (single_line && (text.empty() || (!has_lf && text == "\r"))) continue;

    if (!is_valid_utf8(text)) {
      error_ = "line " + std::to_string(start_line) + ": not valid UTF-8";
      return ReadStatus::bad_encoding;
    }
    rec.line = start_line;
    rec.raw = text;
    rec.nul = dropped_nul || std::memchr(text.data(), '\0', text.size()) != nullptr;
    rec.oversized = oversized;
    rec.unclosed_quote = !has_lf && odd;
    rec.lines = has_lf || tail_lf ? lfs : lfs + 1;
    if (rec.nul || oversized || rec.unclosed_quote) {  // malformed alone (ECOMMERCE.md): the rest of the file still loads
      rec.fields.clear();
      rec.malformed = true;
    } else {
      parse_fields(text, rec);
    }
    return ReadStatus::record;
  }
}

void CsvReader::parse_fields(std::string_view text, CsvRecord& rec) {
  rec.fields.clear();
  rec.malformed = false;
  scratch_.clear();
  // Unquoted values never exceed the record, so views into scratch_ stay valid.
  if (scratch_.capacity() < text.size()) scratch_.reserve(text.size());
  std::size_t i = 0;
  const std::size_t n = text.size();
  for (;;) {
    if (i < n && text[i] == '"') {
      ++i;
      std::size_t start = scratch_.size();
      for (;;) {
        const void* q = i < n ? std::memchr(text.data() + i, '"', n - i) : nullptr;
        if (!q) {  // a quote never closed
          rec.malformed = true;
          return;
        }
        std::size_t at = static_cast<std::size_t>(static_cast<const char*>(q) - text.data());
        scratch_.append(text.data() + i, at - i);
        if (at + 1 < n && text[at + 1] == '"') {
          scratch_.push_back('"');
          i = at + 2;
          continue;
        }
        i = at + 1;
        break;
      }
      rec.fields.emplace_back(scratch_.data() + start, scratch_.size() - start);
      if (i == n) return;
      if (text[i] != ',') {  // anything but , or the end after a closing quote
        rec.malformed = true;
        return;
      }
      ++i;
      continue;
    }
    const void* c = i < n ? std::memchr(text.data() + i, ',', n - i) : nullptr;
    std::size_t stop = c ? static_cast<std::size_t>(static_cast<const char*>(c) - text.data()) : n;
    std::string_view value = text.substr(i, stop - i);
    if (value.find('"') != std::string_view::npos) {  // a quote inside an unquoted field
      rec.malformed = true;
      return;
    }
    rec.fields.push_back(value);
    if (!c) return;
    i = stop + 1;
  }
}

}  // namespace hivehook::etl
