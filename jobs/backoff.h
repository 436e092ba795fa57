// Retry delays: exponential with "equal jitter", shared by job retries and notification delivery.
#pragma once

#include <random>

#include "base/clock.h"
#include "rules/config.h"

namespace hivehook {

// The delay before the next attempt after `failed_attempts` failures (1 = the first failure).
// Base d = min(max, initial * 2^(failed_attempts-1)); the result is d/2 + uniform[0, d/2]
// ("equal jitter": never less than half the base, so retries still back off, yet spread out so
// many failures at once do not retry in lockstep). Always within [d/2, d] and never above max.
Duration backoff_delay(const BackoffPolicy& policy, int failed_attempts, std::mt19937_64& rng);

}  // namespace hivehook
