#include "etl/fact_pipeline.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hivehook::etl {

namespace {

constexpr std::size_t kBatchRows = 2048;
constexpr std::size_t kBatchText = 256 * 1024;
constexpr std::size_t kBatchesInFlight = 3;

// Rows with their bytes. `text` never grows past the capacity reserved while it is empty, so the
// views into it stay valid until the batch is cleared.
struct Batch {
  std::string text;
  std::vector<LoadRow> rows;
  Batch() {
    text.reserve(kBatchText);
    rows.reserve(kBatchRows);
  }
  bool fits(std::size_t bytes) const {
    return rows.size() < kBatchRows && text.size() + bytes <= text.capacity();
  }
  std::string_view keep(std::string_view s) {
    std::size_t at = text.size();
    text.append(s);
    return std::string_view(text).substr(at, s.size());
  }
};

// Filled batches go to the writer, emptied ones come back: a fixed set circulates.
class Channel {
 public:
  Channel() {
    for (std::size_t i = 0; i < kBatchesInFlight; ++i) empty_.push_back(std::make_unique<Batch>());
  }
  // The parsing side. take_empty() returns null once the writer has given up.
  std::unique_ptr<Batch> take_empty() { return take(empty_, [&] { return cancelled_; }); }
  void put_full(std::unique_ptr<Batch> b) { put(full_, std::move(b)); }
  void finish() {
    std::lock_guard lock(m_);
    finished_ = true;
    cv_.notify_all();
  }
  // The writing side. take_full() returns null after the last batch.
  std::unique_ptr<Batch> take_full() { return take(full_, [&] { return finished_; }); }
  void put_empty(std::unique_ptr<Batch> b) {
    b->text.clear();
    b->rows.clear();
    put(empty_, std::move(b));
  }
  void cancel() {
    std::lock_guard lock(m_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  template <typename Stop>
  std::unique_ptr<Batch> take(std::deque<std::unique_ptr<Batch>>& q, Stop stop) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return !q.empty() || stop() || cancelled_; });
    if (q.empty() || cancelled_) return nullptr;
    auto b = std::move(q.front());
    q.pop_front();
    return b;
  }
  void put(std::deque<std::unique_ptr<Batch>>& q, std::unique_ptr<Batch> b) {
    std::lock_guard lock(m_);
    q.push_back(std::move(b));
    cv_.notify_all();
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> full_, empty_;
  bool finished_ = false, cancelled_ = false;
};

// The parsing thread's work: every record into batches, in file order.
void parse_all(CsvReader& reader, const Dimensions& dims, Channel& ch, PipelineResult& result,
               std::exception_ptr& failure) {
  try {
    std::unique_ptr<Batch> b = ch.take_empty();
    if (!b) return ch.finish();
    CsvRecord rec;
    Fact fact;
    ReadStatus st;
    while ((st = reader.next(rec)) == ReadStatus::record) {
      ++result.rows_read;
      if (rec.unclosed_quote) {
        result.unclosed_quote_line = rec.line;
        result.unclosed_quote_lines = rec.lines;
      }
      auto reason = transform_row(rec, dims, fact);
      const std::size_t need =
          reason ? rec.raw.size()
                 : fact.transaction_id.size() + fact.customer_id.size() + fact.product_id.size() +
                       fact.transaction_ts.size() + fact.status.size() + fact.payment_method.size();
      if (!b->fits(need)) {
        if (!b->rows.empty()) {
          ch.put_full(std::move(b));
          b = ch.take_empty();
          if (!b) return ch.finish();
        }
        if (need > b->text.capacity()) b->text.reserve(need);  // one huge record: b is empty
      }
      LoadRow& row = b->rows.emplace_back();
      row.line = rec.line;
      if (reason) {
        ++result.rejected[static_cast<std::size_t>(*reason)];
        row.reason = static_cast<int>(*reason);
        row.raw = b->keep(rec.raw);
      } else {
        row.fact = fact;
        row.fact.transaction_id = b->keep(fact.transaction_id);
        row.fact.customer_id = b->keep(fact.customer_id);
        row.fact.product_id = b->keep(fact.product_id);
        row.fact.transaction_ts = b->keep(fact.transaction_ts);
        row.fact.transaction_date = row.fact.transaction_ts.substr(0, 10);
        row.fact.status = b->keep(fact.status);
        row.fact.payment_method = b->keep(fact.payment_method);
      }
    }
    result.end = st;
    if (st == ReadStatus::bad_encoding) result.error = reader.error();
    if (!b->rows.empty()) ch.put_full(std::move(b));
  } catch (...) {
    failure = std::current_exception();
  }
  ch.finish();
}

}  // namespace

PipelineResult run_fact_pipeline(CsvReader& reader, const Dimensions& dims, FactLoad& load) {
  PipelineResult result;
  std::exception_ptr parse_failure;
  Channel ch;
  std::thread parser(parse_all, std::ref(reader), std::cref(dims), std::ref(ch), std::ref(result),
                     std::ref(parse_failure));
  try {
    while (std::unique_ptr<Batch> b = ch.take_full()) {
      load.write(b->rows);
      ch.put_empty(std::move(b));
    }
  } catch (...) {
    ch.cancel();
    parser.join();
    throw;
  }
  parser.join();
  if (parse_failure) std::rethrow_exception(parse_failure);
  return result;
}

}  // namespace hivehook::etl
