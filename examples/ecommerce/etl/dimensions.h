// Product and customer dimension files: parsing and checking one snapshot file.
// (The in-memory lookups the transform uses are in dimension_snapshot.h.)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "etl/byte_source.h"

namespace hivehook::etl {

inline constexpr std::string_view kProductsHeader[] = {"product_id", "product_name", "category",
                                                       "price", "supplier_id"};
inline constexpr std::string_view kCustomersHeader[] = {
    "customer_id", "first_name", "last_name", "email", "membership_level", "country"};

// One row of a dimension file, as views valid during the sink's call.
struct ProductRow {
  std::string_view id, name, category, price, supplier_id;  // price normalized (normalize_price)
  std::int64_t price_e4 = 0;
};
struct CustomerRow {
  std::string_view id, first_name, last_name, email, membership_level, country;
};

enum class DimensionTable { products, customers };

// Receives a dimension file as it is read: begin() once the header says which snapshot it is,
// then every row in file order. The rows are only good if the read returns no error: a sink
// that writes them must be able to undo (one warehouse transaction).
class DimensionSink {
 public:
  virtual ~DimensionSink() = default;
  virtual void begin(DimensionTable table) = 0;
  virtual void product(const ProductRow& row) = 0;
  virtual void customer(const CustomerRow& row) = 0;
};

struct DimensionFileError {
  std::string message;  // "line 7: duplicate product_id P00012"
};

// Reads a dimension snapshot; the header says which one. Any bad row (malformed, wrong field
// count, empty or duplicate id, bad price or membership level) or invalid UTF-8 fails the whole
// file: the error is returned and the sink must discard what it got. Memory: the file's ids.
std::optional<DimensionFileError> read_dimension_file(ByteSource& source, DimensionSink& sink);

// The same, collected (tests and tools; the job streams).
struct Product {
  std::string id, name, category, price, supplier_id;
  std::int64_t price_e4 = 0;
};
struct Customer {
  std::string id, first_name, last_name, email, membership_level, country;
};
struct ProductsFile {
  std::vector<Product> rows;
};
struct CustomersFile {
  std::vector<Customer> rows;
};
using DimensionFile = std::variant<ProductsFile, CustomersFile, DimensionFileError>;
DimensionFile parse_dimension_file(ByteSource& source);

// Heterogeneous lookup: find by string_view without building a std::string per row.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

bool is_membership_level(std::string_view s);

}  // namespace hivehook::etl
