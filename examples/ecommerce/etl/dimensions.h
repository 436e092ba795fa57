// Product and customer dimension files: parsing and checking one snapshot file.
// (The in-memory lookups the transform uses are in dimension_snapshot.h.)
#pragma once

#include <cstdint>
#include <functional>
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

struct Product {
  std::string id, name, category, price, supplier_id;  // price normalized (see normalize_price)
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
struct DimensionFileError {
  std::string message;  // "line 7: duplicate product_id P00012"
};
using DimensionFile = std::variant<ProductsFile, CustomersFile, DimensionFileError>;

// Reads a whole dimension snapshot; the header says which one. Any bad row fails the file.
DimensionFile parse_dimension_file(ByteSource& source);

// Heterogeneous lookup: find by string_view without building a std::string per row.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

bool is_membership_level(std::string_view s);

}  // namespace hivehook::etl
