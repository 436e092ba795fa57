#include "etl/job.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <variant>

#include "etl/byte_source.h"
#include "etl/csv_reader.h"
#include "etl/dimensions.h"
#include "etl/fact_pipeline.h"
#include "etl/transform.h"
#include "etl/warehouse.h"

namespace hivehook::etl {

namespace {

// "2023-03-15T13:45:12.345Z"
std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

Lineage make_lineage(const JobOptions& opts) { return Lineage{now_rfc3339(), opts.run_id}; }

JobOutcome failure(int code, std::string message, const JobOptions& opts) {
  JobOutcome out;
  out.exit_code = code;
  out.summary = std::move(message);
  out.result = {{"error", out.summary}, {"exit_code", code}, {"source_file", opts.source_file}};
  return out;
}

// Runs `body`, mapping every failure to its exit code: bad input never escapes as a crash.
template <typename Body>
JobOutcome guarded(const JobOptions& opts, Body body) {
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    return failure(kExitUsage, e.what(), opts);
  } catch (const std::exception& e) {
    return failure(kExitFailure, e.what(), opts);
  }
}

}  // namespace

JobOutcome run_dims(const JobOptions& opts) {
  return guarded(opts, [&]() -> JobOutcome {
    // Rows go to the warehouse as they are read and checked, inside one transaction that
    // commits only if the whole file is well formed: memory is the file's ids, not its rows.
    struct ToWarehouse final : DimensionSink {
      const JobOptions& opts;
      std::unique_ptr<Warehouse> wh;
      std::unique_ptr<DimensionLoad> load;
      std::string table;
      std::size_t rows = 0;
      explicit ToWarehouse(const JobOptions& o) : opts(o) {}
      void begin(DimensionTable t) override {
        wh = open_warehouse(opts.warehouse);
        load = wh->begin_dimension_load(t, opts.source_file, make_lineage(opts));
        table = t == DimensionTable::products ? "dim_products" : "dim_customers";
      }
      void product(const ProductRow& r) override {
        load->product(r);
        ++rows;
      }
      void customer(const CustomerRow& r) override {
        load->customer(r);
        ++rows;
      }
    } sink(opts);
    FileSource source(opts.file);
    if (auto err = read_dimension_file(source, sink))  // `sink.load` rolls back, if it began
      return failure(kExitDataErr, opts.file + ": " + err->message, opts);
    sink.load->commit();
    JobOutcome out;
    out.result = {{"table", sink.table},
                  {"rows_read", sink.rows},
                  {"upserted", sink.rows},
                  {"source_file", opts.source_file},
                  {"warehouse", sink.wh->name()}};
    out.summary = sink.table + ": " + std::to_string(sink.rows) + " rows upserted from " +
                  opts.source_file + " into " + sink.wh->name();
    return out;
  });
}

JobOutcome run_transactions(const JobOptions& opts) {
  return guarded(opts, [&]() -> JobOutcome {
    FileSource source(opts.file);
    CsvReader reader(source);
    CsvRecord rec;
    ReadStatus st = reader.next(rec);
    if (st == ReadStatus::bad_encoding)
      return failure(kExitDataErr, opts.file + ": " + reader.error(), opts);
    if (st == ReadStatus::end)
      return failure(kExitDataErr, opts.file + ": empty file, no header", opts);
    if (!is_transactions_header(rec))
      return failure(kExitDataErr,
                     opts.file + ": line " + std::to_string(rec.line) +
                         ": not a transactions file: the header must be exactly "
                         "'transaction_id,customer_id,product_id,quantity,transaction_ts,status,"
                         "payment_method'",
                     opts);

    auto wh = open_warehouse(opts.warehouse);
    Dimensions dims = wh->load_dimensions();
    if (dims.product_count() == 0 || dims.customer_count() == 0)
      return failure(kExitTempFail,
                     "dimensions not loaded yet (" + std::to_string(dims.product_count()) +
                         " products, " + std::to_string(dims.customer_count()) +
                         " customers): retry once dim_products and dim_customers are loaded",
                     opts);

    auto load = wh->begin_fact_load(opts.source_file, make_lineage(opts));
    PipelineResult piped = run_fact_pipeline(reader, dims, *load);
    if (piped.end == ReadStatus::bad_encoding)  // `load` rolls back as it goes out of scope
      return failure(kExitDataErr, opts.file + ": " + piped.error, opts);
    LoadCounts counts = load->commit();
    const std::uint64_t rows_read = piped.rows_read;
    const auto& rejected = piped.rejected;

    JobOutcome out;
    nlohmann::json by_reason = nlohmann::json::object();
    std::uint64_t rejected_total = 0;
    for (std::size_t i = 0; i < kReasonCount; ++i) {
      by_reason[reason_name(static_cast<Reason>(i))] = rejected[i];
      rejected_total += rejected[i];
    }
    out.result = {{"rows_read", rows_read},         {"inserted", counts.inserted},
                  {"updated", counts.updated},      {"unchanged", counts.unchanged},
                  {"rejected", by_reason},          {"rejected_total", rejected_total},
                  {"source_file", opts.source_file}, {"warehouse", wh->name()}};
    out.summary = opts.source_file + ": " + std::to_string(rows_read) + " rows read, " +
                  std::to_string(counts.inserted) + " inserted, " +
                  std::to_string(counts.updated) + " updated, " +
                  std::to_string(counts.unchanged) + " unchanged, " +
                  std::to_string(rejected_total) + " rejected";
    if (piped.unclosed_quote_line != 0) {
      // The contract's rule, made visible (issue 18 retest E3): one stray quote near the top of a
      // day's file turns the rest of the day into one reject, and the job still succeeds.
      out.result["unclosed_quote"] = {{"line", piped.unclosed_quote_line},
                                      {"lines", piped.unclosed_quote_lines}};
      out.warning = opts.source_file + ": line " + std::to_string(piped.unclosed_quote_line) +
                    ": a quote opened in this record is never closed, so the record runs to the end of the "
                    "file: its " + std::to_string(piped.unclosed_quote_lines) +
                    " lines are one malformed reject (ECOMMERCE.md)";
    }
    return out;
  });
}

}  // namespace hivehook::etl
