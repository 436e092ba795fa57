// The daemon's Prometheus view (labelled by rule, outcome, target), served on /metrics: written on
// the loop, rendered by the metrics server's thread (the registry is thread-safe).
#pragma once

#include "metrics/daemon_metrics.h"

namespace hivehook {

struct PipelineStats {
  metrics::Registry registry;
  metrics::DaemonMetrics m{registry};
};

}  // namespace hivehook
