// One transactions row: the reject checks in contract order, then enrichment and the amount.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "etl/csv_reader.h"
#include "etl/decimal.h"
#include "etl/dimension_snapshot.h"

namespace hivehook::etl {

inline constexpr std::string_view kTransactionsHeader[] = {
    "transaction_id", "customer_id", "product_id", "quantity",
    "transaction_ts", "status",      "payment_method"};

// In the order they are checked; the first that applies is the row's only reason.
enum class Reason {
  malformed,
  missing_id,
  unknown_customer,
  unknown_product,
  bad_quantity,
  bad_timestamp,
  bad_status,
};
inline constexpr std::size_t kReasonCount = 7;
const char* reason_name(Reason r);

// pending=0 < completed=1 < cancelled=2 < refunded=3; -1 when not a status.
int status_rank(std::string_view status);

// A valid, enriched row. The views point into the record and the dimensions' snapshot.
struct Fact {
  std::string_view transaction_id, customer_id, product_id;
  ProductRef product;    // enrichment, as the dimensions hold it when the file is loaded
  CustomerRef customer;
  std::int64_t quantity = 0;
  AmountClass amount_class = AmountClass::small;
  std::string_view transaction_ts, transaction_date, status, payment_method;
  int status_rank = 0;
  // (transaction_ts, status_rank) as one ordered number: epoch seconds * 4 + rank.
  std::int64_t order_key = 0;
  std::string_view amount() const { return std::string_view(amount_text, amount_len); }  // "50.00"

  char amount_text[kCentsTextMax];
  std::uint8_t amount_len = 0;
};

bool is_transactions_header(const CsvRecord& rec);

// Fills `fact` and returns nullopt for a valid row, else the reject reason.
std::optional<Reason> transform_row(const CsvRecord& rec, const Dimensions& dims, Fact& fact);

}  // namespace hivehook::etl
