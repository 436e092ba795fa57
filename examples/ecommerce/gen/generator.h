// hivehook-gen's data: dimensions and daily transaction files with every nasty case on purpose.
#pragma once

#include <cstdint>
#include <string>

namespace hivehook::gen {

struct GenOptions {
  std::string out;            // landing root
  int days = 7;
  std::int64_t rows_per_day = 1000;
  int customers = 1000;
  int products = 200;
  int start_y = 2023, start_m = 3, start_d = 1;
  std::uint64_t seed = 42;
  double rate = 0;            // files per second; 0 = as fast as possible
};

struct GenStats {
  int files = 0;
  std::int64_t rows = 0;
};

// Writes dimensions first, then one transactions file per day. Throws std::runtime_error.
GenStats generate(const GenOptions& opts);

}  // namespace hivehook::gen
