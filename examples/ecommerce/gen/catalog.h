// The generator's product catalog: names and prices that fit their category, so the example's
// analytics read like a shop's (issue 16: no $2,100 mug as the top Beauty product).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hivehook::gen {

struct CatalogProduct {
  std::string id;        // "P00042"
  std::string name;      // "Deluxe Face Cream 42"; every 9th one needs quoting or is non-ASCII
  std::string category;  // one of eight departments
  std::string price;     // decimal text as written to the file ("12.99", "0.125")
  std::int64_t price_e4 = 0;  // the same price in 1/10000
  std::string supplier_id;    // "S042"
};

// `count` products (1..99999), deterministic for `seed`. Each kind of item (a lawn mower, a mug)
// has its own price range, drawn log-uniformly and ending in .99, .49 or .00 like shelf prices;
// the first ten multiples of 7 carry the exact prices that exercise rounding and the amount-class
// limits (0.125, 49.995, 500...).
std::vector<CatalogProduct> make_catalog(int count, std::uint64_t seed);

}  // namespace hivehook::gen
