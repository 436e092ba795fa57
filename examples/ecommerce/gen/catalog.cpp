#include "catalog.h"

#include <array>
#include <cmath>
#include <string_view>

#include "etl/decimal.h"
#include "rng.h"

namespace hivehook::gen {

namespace {

struct Item {
  const char* noun;
  std::int64_t lo_cents, hi_cents;  // shelf price range of this kind of item (USD)
};
struct Category {
  const char* name;
  std::array<Item, 6> items;
};

constexpr std::array<Category, 8> kCategories = {{
    {"Gadgets", {{{"Headphones", 1999, 29999}, {"Charger", 999, 4999}, {"Speaker", 2999, 39999},
                  {"Smartwatch", 9999, 59999}, {"Webcam", 2999, 14999}, {"Power Bank", 1499, 7999}}}},
    {"Home", {{{"Mug", 499, 2499}, {"Lamp", 1999, 14999}, {"Kettle", 2499, 12999},
               {"Chair", 4999, 29999}, {"Candle", 399, 3999}, {"Teapot", 1499, 7999}}}},
    {"Garden", {{{"Hose", 1499, 6999}, {"Planter", 999, 7999}, {"Shears", 1299, 4999},
                 {"Bird Feeder", 1499, 5999}, {"Lawn Mower", 14999, 59999}, {"Seed Mix", 299, 999}}}},
    {"Books", {{{"Novel", 799, 2999}, {"Cookbook", 1499, 4999}, {"Atlas", 1999, 7999},
                {"Notebook", 399, 1999}, {"Travel Guide", 999, 2999}, {"Poetry Collection", 899, 2999}}}},
    {"Toys", {{{"Puzzle", 999, 3999}, {"Ball", 499, 2999}, {"Robot Kit", 2999, 14999},
               {"Doll", 999, 4999}, {"Kite", 999, 3999}, {"Board Game", 1999, 6999}}}},
    {"Sports", {{{"Backpack", 2999, 14999}, {"Yoga Mat", 1999, 8999}, {"Tennis Racket", 3999, 24999},
                 {"Bike Helmet", 3999, 19999}, {"Dumbbells", 1999, 14999}, {"Water Bottle", 999, 3999}}}},
    {"Beauty", {{{"Lipstick", 599, 3999}, {"Shampoo", 499, 2999}, {"Face Cream", 999, 11999},
                 {"Perfume", 2999, 14999}, {"Nail Polish", 399, 1999}, {"Hair Brush", 599, 3999}}}},
    {"Grocery", {{{"Coffee Beans", 799, 2999}, {"Green Tea", 399, 1999}, {"Olive Oil", 699, 2999},
                  {"Chocolate", 199, 999}, {"Honey", 499, 1999}, {"Pasta", 149, 599}}}},
}};

constexpr std::array kAdjectives = {"Classic", "Deluxe", "Mini", "Pro", "Eco", "Smart", "Retro", "Ultra"};

// Exact prices for the rounding and amount-class limits, with a department where they fit.
struct Edge {
  const char* price;
  std::size_t category, item;
};
constexpr std::array<Edge, 10> kEdges = {{{"0.125", 7, 3},  {"49.995", 6, 2}, {"49.99", 0, 1},
                                          {"50", 1, 5},      {"499.995", 0, 3}, {"500", 2, 4},
                                          {"7", 3, 3},       {"0.0001", 7, 5},  {"12.3456", 4, 4},
                                          {"4.9999", 6, 4}}};

// Names that must be quoted or carry non-ASCII text; {} is the category's noun.
constexpr std::array kNasty = {"{}, Deluxe Edition", "The \"Best\" {}", "Two-line\n{}",
                               "Café Crème {}",      "Zürich {}, Set of 2", "{} 日本製",
                               "{} 3/4\" \"Heavy\"", "Multi\r\nLine, \"Gift\" {}"};

std::string pad(char prefix, std::int64_t n, std::size_t width) {
  std::string digits = std::to_string(n);
  return std::string(1, prefix) + std::string(width > digits.size() ? width - digits.size() : 0, '0') + digits;
}

std::string fill(std::string_view pattern, std::string_view noun) {
  std::string out(pattern);
  auto at = out.find("{}");
  return out.replace(at, 2, noun);
}

// A shelf price in [lo, hi] cents, log-uniform, ending in .99, .49 or .00.
std::int64_t shelf_price(Rng& rng, std::int64_t lo, std::int64_t hi) {
  double u = static_cast<double>(rng.next() >> 11) / 9007199254740992.0;  // [0, 1), 53 bits
  double cents = std::exp(std::log(static_cast<double>(lo)) + u * (std::log(static_cast<double>(hi)) - std::log(static_cast<double>(lo))));
  std::int64_t dollars = static_cast<std::int64_t>(cents / 100);
  static constexpr std::array<std::int64_t, 4> kEndings = {99, 99, 49, 0};
  std::int64_t ending = kEndings[rng.range(0, 3)];
  std::int64_t out = dollars * 100 + ending;
  if (out < lo) out = lo;
  if (out > hi) out = hi;
  return out;
}

}  // namespace

std::vector<CatalogProduct> make_catalog(int count, std::uint64_t seed) {
  Rng rng(seed ^ 0x70726F64ULL);
  std::vector<CatalogProduct> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 1; i <= count; ++i) {
    CatalogProduct p;
    p.id = pad('P', i, 5);
    std::size_t cat = static_cast<std::size_t>(rng.range(0, kCategories.size() - 1));
    std::size_t item = static_cast<std::size_t>(rng.range(0, kCategories[cat].items.size() - 1));
    bool edge = i % 7 == 0 && i / 7 <= static_cast<int>(kEdges.size());
    if (edge) {
      const Edge& e = kEdges[static_cast<std::size_t>(i / 7 - 1)];
      cat = e.category;
      item = e.item;
      p.price = e.price;
    } else {
      const Item& it = kCategories[cat].items[item];
      std::int64_t cents = shelf_price(rng, it.lo_cents, it.hi_cents);
      p.price = std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") + std::to_string(cents % 100);
    }
    p.category = kCategories[cat].name;
    const char* noun = kCategories[cat].items[item].noun;
    const char* adjective = kAdjectives[static_cast<std::size_t>(rng.range(0, kAdjectives.size() - 1))];
    p.name = i % 9 == 0 ? fill(kNasty[static_cast<std::size_t>(i / 9) % kNasty.size()], noun)
                        : std::string(adjective) + " " + noun + " " + std::to_string(i);
    p.price_e4 = *etl::parse_price(p.price);
    p.supplier_id = pad('S', rng.range(1, 99), 3);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace hivehook::gen
