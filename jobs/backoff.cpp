#include "jobs/backoff.h"

#include <algorithm>

namespace hivehook {

Duration backoff_delay(const BackoffPolicy& policy, int failed_attempts, std::mt19937_64& rng) {
  const long long cap = std::max<long long>(0, policy.max.count());
  long long base = std::clamp<long long>(policy.initial.count(), 0, cap);
  // Double (n-1) times, stopping at the cap so a large n can never overflow.
  for (int i = 1; i < failed_attempts && base < cap; ++i) base = base > cap / 2 ? cap : base * 2;
  const long long half = base / 2;
  std::uniform_int_distribution<long long> jitter(0, base - half);
  return Duration(half + jitter(rng));
}

}  // namespace hivehook
