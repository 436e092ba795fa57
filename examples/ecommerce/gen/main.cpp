// hivehook-gen: writes the e-commerce example's landing data. See examples/ecommerce/README.md.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "etl/timestamp.h"
#include "generator.h"

namespace {

constexpr const char* kUsage =
    "usage: hivehook-gen --out LANDING [--days N] [--rows-per-day R] [--customers C]\n"
    "                    [--products P] [--start YYYY-MM-DD] [--seed S] [--rate FILES_PER_S]\n";

bool parse_int(const std::string& s, long long lo, long long hi, long long& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoll(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0' && errno == 0 && out >= lo && out <= hi;
}

int fail(const std::string& msg) {
  std::cerr << "hivehook-gen: " << msg << "\n" << kUsage;
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  hivehook::gen::GenOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= argc) return fail("missing value for " + a);
    std::string v = argv[++i];
    long long n = 0;
    if (a == "--out") {
      o.out = v;
    } else if (a == "--days") {
      if (!parse_int(v, 0, 100000, n)) return fail("bad --days " + v);
      o.days = static_cast<int>(n);
    } else if (a == "--rows-per-day") {
      if (!parse_int(v, 0, 1000000000LL, n)) return fail("bad --rows-per-day " + v);
      o.rows_per_day = n;
    } else if (a == "--customers") {
      if (!parse_int(v, 1, 999999, n)) return fail("bad --customers " + v + " (1..999999)");
      o.customers = static_cast<int>(n);
    } else if (a == "--products") {
      if (!parse_int(v, 1, 99999, n)) return fail("bad --products " + v + " (1..99999)");
      o.products = static_cast<int>(n);
    } else if (a == "--seed") {
      if (!parse_int(v, 0, INT64_MAX, n)) return fail("bad --seed " + v);
      o.seed = static_cast<std::uint64_t>(n);
    } else if (a == "--rate") {
      char* end = nullptr;
      o.rate = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(o.rate > 0)) return fail("bad --rate " + v);
    } else if (a == "--start") {
      auto ts = hivehook::etl::parse_timestamp(v + "T00:00:00Z");
      if (v.size() != 10 || !ts) return fail("bad --start " + v + " (YYYY-MM-DD)");
      o.start_y = std::stoi(v.substr(0, 4));
      o.start_m = std::stoi(v.substr(5, 2));
      o.start_d = std::stoi(v.substr(8, 2));
    } else {
      return fail("unknown option " + a);
    }
  }
  if (o.out.empty()) return fail("--out is required");
  try {
    auto stats = hivehook::gen::generate(o);
    std::cout << "hivehook-gen: wrote " << stats.files << " files, " << stats.rows
              << " transaction rows into " << o.out << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "hivehook-gen: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
