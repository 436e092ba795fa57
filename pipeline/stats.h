// Counters the pipeline keeps for `status` and /metrics (written on the loop, read from anywhere).
#pragma once

#include <atomic>
#include <cstdint>

#include "metrics/daemon_metrics.h"

namespace hivehook {

struct PipelineStats {
  std::atomic<uint64_t> discovered{0}, archived{0}, quarantined{0}, deleted{0}, kept{0}, unmatched{0},
      ignored{0}, duplicates{0}, runs_started{0}, runs_succeeded{0}, runs_failed{0}, runs_timed_out{0},
      runs_interrupted{0}, retries_scheduled{0}, overflows{0}, rescans{0}, commits{0};
  std::atomic<uint64_t> queued{0}, running{0}, active_objects{0}, watches{0}, unwatched{0};
  std::atomic<uint64_t> outbox_pending{0}, outbox_dead{0}, notify_sent{0}, notify_failed_attempts{0};
  std::atomic<int64_t> loop_heartbeat_ms{0};  // last time the loop ran its heartbeat timer

  // The Prometheus view of the same facts (labelled by rule, outcome, target), served on /metrics.
  metrics::Registry registry;
  metrics::DaemonMetrics m{registry};
};

}  // namespace hivehook
