// Activity over time for the console's charts (GET /api/v1/activity): per minute, files that
// arrived, runs that ended and failed, and the latency from a file's discovery to its job's start.
#pragma once

#include <cstdint>
#include <vector>

#include "store/store.h"

namespace hivehook {

struct ActivityMinute {
  int64_t minute_ms = 0;       // the minute's start, unix ms
  int64_t files = 0;           // objects discovered in it
  int64_t runs = 0;            // runs that ended in it
  int64_t failures = 0;        // of those, failed or timed out
  int64_t latency_p50_ms = 0;  // discovery → first attempt's start, over the runs that ended in it (0: none)
  int64_t latency_max_ms = 0;
};

// `minutes` consecutive minutes ending with the one holding now_ms, oldest first (minutes with
// nothing are present, as zeros). Reads only the rows of the window (id ranges found by
// first_id_at_or_after), so the cost follows the window, not the store's size.
std::vector<ActivityMinute> activity(Store& store, int64_t now_ms, int minutes);

}  // namespace hivehook
