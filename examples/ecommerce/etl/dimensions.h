// Product and customer dimensions: parsing a snapshot file, and the in-memory lookups.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "etl/byte_source.h"
#include "etl/string_index.h"

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

// What the transform needs from the dimensions.
struct ProductRef {
  std::string name, category, price, supplier_id;
  std::int64_t price_e4 = 0;
};
struct CustomerRef {
  std::string membership_level, country;
};

// The dimensions as the transform sees them. Customers' attributes are interned: a hundred
// thousand customers share a few dozen (membership_level, country) pairs.
class Dimensions {
 public:
  void reserve(std::size_t products, std::size_t customers);
  void add_product(std::string_view id, ProductRef p);
  void add_customer(std::string_view id, const CustomerRef& c);
  const ProductRef* product(std::string_view id) const {
    std::uint32_t i = product_ids_.find(id);
    return i == StringIndex::npos ? nullptr : &products_[i];
  }
  const CustomerRef* customer(std::string_view id) const {
    std::uint32_t i = customer_ids_.find(id);
    return i == StringIndex::npos ? nullptr : &attrs_[customer_attr_[i]];
  }
  std::size_t product_count() const { return products_.size(); }
  std::size_t customer_count() const { return customer_attr_.size(); }

 private:
  StringIndex product_ids_, customer_ids_, attr_keys_;
  std::vector<ProductRef> products_;
  std::vector<std::uint32_t> customer_attr_;
  std::vector<CustomerRef> attrs_;
};

bool is_membership_level(std::string_view s);

}  // namespace hivehook::etl
