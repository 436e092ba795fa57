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

DimensionFile parse_dimension_file(ByteSource& source) {
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
  const std::size_t want = products ? std::size(kProductsHeader) : std::size(kCustomersHeader);
  const char* id_name = products ? "product_id" : "customer_id";
  ProductsFile pf;
  CustomersFile cf;
  std::unordered_set<std::string, StringHash, std::equal_to<>> seen;
  while ((st = reader.next(rec)) == ReadStatus::record) {
    if (rec.malformed)
      return DimensionFileError{at_line(rec.line, rec.nul ? "NUL byte in a record" : "broken quoting")};
    if (rec.fields.size() != want)
      return DimensionFileError{at_line(rec.line, std::to_string(rec.fields.size()) +
                                                      " fields, expected " + std::to_string(want))};
    const auto& f = rec.fields;
    if (f[0].empty()) return DimensionFileError{at_line(rec.line, std::string("empty ") + id_name)};
    if (seen.contains(f[0]))
      return DimensionFileError{
          at_line(rec.line, std::string("duplicate ") + id_name + " " + std::string(f[0]))};
    seen.emplace(f[0]);
    if (products) {
      auto price = parse_price(f[3]);
      if (!price)
        return DimensionFileError{at_line(
            rec.line, "bad price '" + std::string(f[3]) +
                          "' (a non-negative decimal, at most 4 fraction digits, 14 integer digits)")};
      pf.rows.push_back(Product{std::string(f[0]), std::string(f[1]), std::string(f[2]),
                                normalize_price(f[3]), std::string(f[4]), *price});
    } else {
      if (!is_membership_level(f[4]))
        return DimensionFileError{at_line(rec.line, "bad membership_level '" + std::string(f[4]) +
                                                        "' (Bronze, Silver, Gold or Platinum)")};
      cf.rows.push_back(Customer{std::string(f[0]), std::string(f[1]), std::string(f[2]),
                                 std::string(f[3]), std::string(f[4]), std::string(f[5])});
    }
  }
  if (st == ReadStatus::bad_encoding) return DimensionFileError{reader.error()};
  if (products) return pf;
  return cf;
}

}  // namespace hivehook::etl
