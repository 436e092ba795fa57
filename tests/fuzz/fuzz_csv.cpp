// fuzz-link: hivehook_etl_core
// The CSV reader and the transactions row checks on arbitrary bytes. The first byte picks the
// source's chunk size so record boundaries land everywhere; a small reader buffer forces growth.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "etl/csv_reader.h"
#include "etl/dimensions.h"
#include "etl/transform.h"

using namespace hivehook::etl;

namespace {
const Dimensions& dims() {
  static const Dimensions d = [] {
    DimensionsBuilder x;
    x.add_product("P1", "Widget", "Gadgets", "29.99", 299900, "S1");
    x.add_product("P2", "Edge", "Home", "49.995", 499950, "S2");
    x.add_customer("C1", "Gold", "US");
    x.add_customer("", "Gold", "US");  // not reachable: an empty id is unknown first
    return x.build();
  }();
  return d;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = 1 + data[0] % 13;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  MemorySource source(text, chunk);
  CsvReader reader(source, 16);
  CsvRecord rec;
  Fact fact;
  std::uint64_t last_line = 0;
  std::size_t consumed = 0;
  ReadStatus st;
  while ((st = reader.next(rec)) == ReadStatus::record) {
    // Invariants: lines only go forward, unquoted fields fit in the record.
    if (rec.line <= last_line) __builtin_trap();
    if (last_line == 0) (void)is_transactions_header(rec);
    last_line = rec.line;
    std::size_t total = 0;
    for (auto f : rec.fields) total += f.size();
    if (!rec.malformed && total > rec.raw.size()) __builtin_trap();
    // A NUL byte makes its record malformed, never the file (ECOMMERCE.md); a blank line is
    // never returned as a record.
    bool nul = rec.raw.find('\0') != std::string_view::npos;
    if (nul != rec.nul || (nul && !rec.malformed)) __builtin_trap();
    if (rec.raw.empty()) __builtin_trap();
    consumed += rec.raw.size();
    if (auto reason = transform_row(rec, dims(), fact)) {
      (void)reason_name(*reason);
    } else if (fact.amount().empty() || fact.transaction_id.empty()) {
      __builtin_trap();
    }
  }
  if (consumed > text.size()) __builtin_trap();

  // The record cap (issue 18 retest E4) changes what a long record keeps, never where records
  // start or whether the file is valid UTF-8: a reader capped at 16..65 bytes must see the same
  // records at the same lines, with the same end, each long one malformed and cut to the cap.
  struct Seen {
    std::uint64_t line;
    std::size_t size;
    bool malformed;
  };
  std::vector<Seen> whole;
  {
    MemorySource again(text, chunk);
    CsvReader r(again, 16);
    while (r.next(rec) == ReadStatus::record) whole.push_back({rec.line, rec.raw.size(), rec.malformed});
  }
  const std::size_t cap = 16 + data[0] % 50;
  MemorySource capped_source(text, chunk);
  CsvReader capped(capped_source, 16, cap);
  std::size_t i = 0;
  ReadStatus capped_end;
  while ((capped_end = capped.next(rec)) == ReadStatus::record) {
    if (i >= whole.size() || rec.line != whole[i].line) __builtin_trap();
    if (rec.raw.size() > cap) __builtin_trap();
    // Long means longer than the cap without the CR its LF drops, exactly as the whole raw text is.
    if (rec.oversized != (whole[i].size > cap)) __builtin_trap();
    if (rec.oversized && (!rec.malformed || rec.raw.size() + 3 < cap)) __builtin_trap();
    if (!rec.oversized && (rec.raw.size() != whole[i].size || rec.malformed != whole[i].malformed)) __builtin_trap();
    ++i;
  }
  // The capped reader checks a long record's tail as UTF-8 before dropping it: the same verdict.
  if (capped_end != st) __builtin_trap();
  if (st == ReadStatus::end && i != whole.size()) __builtin_trap();
  return 0;
}
