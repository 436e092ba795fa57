// One transactions file through two threads: a parsing thread reads, parses and checks records
// (CsvReader + transform_row) while the calling thread writes them into the warehouse (FactLoad),
// so both cores work within one file. Rows travel in order, in batches that own their bytes; at
// most kBatchesInFlight batches exist, so memory stays flat however large the file is.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "etl/csv_reader.h"
#include "etl/dimension_snapshot.h"
#include "etl/transform.h"
#include "etl/warehouse.h"

namespace hivehook::etl {

struct PipelineResult {
  ReadStatus end = ReadStatus::end;  // end, or bad_encoding (then `error` says where)
  std::string error;
  std::uint64_t rows_read = 0;                      // records after the header
  std::array<std::uint64_t, kReasonCount> rejected{};  // per Reason
  // A quote never closed (ECOMMERCE.md: it runs to the end of the file as one malformed record):
  // the line where that record starts and how many lines it swallowed; 0 when none.
  std::uint64_t unclosed_quote_line = 0;
  std::uint64_t unclosed_quote_lines = 0;
};

// Reads every record after the header from `reader`, checks it against `dims`, and hands each row
// to `load` (add or reject) in file order on the calling thread. Stops at the end of the input or
// at a file error (bad_encoding: the caller must not commit). An exception from `load` or from the
// input stops the parsing thread and is rethrown here. `load` is not committed.
PipelineResult run_fact_pipeline(CsvReader& reader, const Dimensions& dims, FactLoad& load);

}  // namespace hivehook::etl
