#include "etl/transform.h"

#include <algorithm>

#include "etl/timestamp.h"

namespace hivehook::etl {

const char* reason_name(Reason r) {
  switch (r) {
    case Reason::malformed: return "malformed";
    case Reason::missing_id: return "missing_id";
    case Reason::unknown_customer: return "unknown_customer";
    case Reason::unknown_product: return "unknown_product";
    case Reason::bad_quantity: return "bad_quantity";
    case Reason::bad_timestamp: return "bad_timestamp";
    case Reason::bad_status: return "bad_status";
  }
  return "?";
}

int status_rank(std::string_view s) {
  if (s == "pending") return 0;
  if (s == "completed") return 1;
  if (s == "cancelled") return 2;
  if (s == "refunded") return 3;
  return -1;
}

bool is_transactions_header(const CsvRecord& rec) {
  return !rec.malformed && std::equal(rec.fields.begin(), rec.fields.end(),
                                      std::begin(kTransactionsHeader), std::end(kTransactionsHeader));
}

std::optional<Reason> transform_row(const CsvRecord& rec, const Dimensions& dims, Fact& fact) {
  if (rec.malformed || rec.fields.size() != std::size(kTransactionsHeader)) return Reason::malformed;
  const auto& f = rec.fields;
  if (f[0].empty()) return Reason::missing_id;
  const std::uint32_t customer = dims.find_customer(f[1]);
  if (customer == Dimensions::npos) return Reason::unknown_customer;
  const std::uint32_t product = dims.find_product(f[2]);
  if (product == Dimensions::npos) return Reason::unknown_product;
  auto quantity = parse_quantity(f[3]);
  if (!quantity) return Reason::bad_quantity;
  auto ts = parse_timestamp(f[4]);
  if (!ts) return Reason::bad_timestamp;
  int rank = status_rank(f[5]);
  if (rank < 0) return Reason::bad_status;

  fact.transaction_id = f[0];
  fact.customer_id = f[1];
  fact.product_id = f[2];
  fact.customer = dims.customer_at(customer);
  fact.product = dims.product_at(product);
  fact.quantity = *quantity;
  __int128 cents = amount_cents(*quantity, fact.product.price_e4);
  fact.amount_len = static_cast<std::uint8_t>(format_cents(cents, fact.amount_text));
  fact.amount_class = classify_amount(cents);
  fact.transaction_ts = f[4];
  fact.transaction_date = f[4].substr(0, 10);
  fact.status = f[5];
  fact.status_rank = rank;
  fact.payment_method = f[6];
  fact.order_key = *ts * 4 + rank;
  return std::nullopt;
}

}  // namespace hivehook::etl
