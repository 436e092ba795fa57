#include "etl/dimensions.h"

#include <algorithm>
#include <span>
#include <unordered_set>

#include "etl/csv_reader.h"
#include "etl/decimal.h"

namespace hivehook::etl {

bool is_membership_level(std::string_view s) {
  return s == "Bronze" || s == "Silver" || s == "Gold" || s == "Platinum";
}

namespace {

bool fields_equal(const std::vector<std::string_view>& fields, std::span<const std::string_view> want) {
  return std::equal(fields.begin(), fields.end(), want.begin(), want.end());
}

std::string at_line(std::uint64_t line, const std::string& what) {
  return "line " + std::to_string(line) + ": " + what;
}

}  // namespace

std::optional<DimensionFileError> read_dimension_file(ByteSource& source, DimensionSink& sink) {
  CsvReader reader(source);
  CsvRecord rec;
  ReadStatus st = reader.next(rec);
  if (st == ReadStatus::bad_encoding) return DimensionFileError{reader.error()};
  if (st == ReadStatus::end) return DimensionFileError{"empty file: no header"};
  bool products = !rec.malformed && fields_equal(rec.fields, kProductsHeader);
  bool customers = !rec.malformed && fields_equal(rec.fields, kCustomersHeader);
  if (!products && !customers)
    return DimensionFileError{at_line(rec.line, "not a dimension file: the header is neither '"
                                                    "product_id,product_name,category,price,"
                                                    "supplier_id' nor 'customer_id,first_name,"
                                                    "last_name,email,membership_level,country'")};
  sink.begin(products ? DimensionTable::products : DimensionTable::customers);
  const std::size_t want = products ? std::size(kProductsHeader) : std::size(kCustomersHeader);
  const char* id_name = products ? "product_id" : "customer_id";
  std::unordered_set<std::string, StringHash, std::equal_to<>> seen;
  std::string price;
  while ((st = reader.next(rec)) == ReadStatus::record) {
    if (rec.malformed)
      return DimensionFileError{at_line(rec.line, rec.oversized ? "a record longer than 1 MiB" : rec.nul ? "NUL byte in a record" : "broken quoting")};
    if (rec.fields.size() != want)
      return DimensionFileError{at_line(rec.line, std::to_string(rec.fields.size()) +
                                                      " fields, expected " + std::to_string(want))};
    const auto& f = rec.fields;
    if (f[0].empty()) return DimensionFileError{at_line(rec.line, std::string("empty ") + id_name)};
    if (!seen.emplace(f[0]).second)
      return DimensionFileError{
          at_line(rec.line, std::string("duplicate ") + id_name + " " + std::string(f[0]))};
    if (products) {
      auto e4 = parse_price(f[3]);
      if (!e4)
        return DimensionFileError{at_line(
            rec.line, "bad price '" + std::string(f[3]) +
                          "' (a non-negative decimal, at most 4 fraction digits, 14 integer digits)")};
      price = normalize_price(f[3]);
      sink.product(ProductRow{f[0], f[1], f[2], price, f[4], *e4});
    } else {
      if (!is_membership_level(f[4]))
        return DimensionFileError{at_line(rec.line, "bad membership_level '" + std::string(f[4]) +
                                                        "' (Bronze, Silver, Gold or Platinum)")};
      sink.customer(CustomerRow{f[0], f[1], f[2], f[3], f[4], f[5]});
    }
  }
  if (st == ReadStatus::bad_encoding) return DimensionFileError{reader.error()};
  return std::nullopt;
}

DimensionFile parse_dimension_file(ByteSource& source) {
  struct Collect final : DimensionSink {
    bool products = true;
    ProductsFile pf;
    CustomersFile cf;
    void begin(DimensionTable t) override { products = t == DimensionTable::products; }
    void product(const ProductRow& r) override {
      pf.rows.push_back(Product{std::string(r.id), std::string(r.name), std::string(r.category),
                                std::string(r.price), std::string(r.supplier_id), r.price_e4});
    }
    void customer(const CustomerRow& r) override {
      cf.rows.push_back(Customer{std::string(r.id), std::string(r.first_name), std::string(r.last_name),
                                 std::string(r.email), std::string(r.membership_level),
                                 std::string(r.country)});
    }
  } collect;
  if (auto err = read_dimension_file(source, collect)) return *err;
  if (collect.products) return std::move(collect.pf);
  return std::move(collect.cf);
}

}  // namespace hivehook::etl
