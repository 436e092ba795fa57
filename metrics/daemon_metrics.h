// The metrics the hivehook daemon exports, registered once (names and labels documented in
// docs/notifications.md "Metrics"). Modules update these references; the registry renders them.
#pragma once

#include "metrics/registry.h"

namespace hivehook::metrics {

struct DaemonMetrics {
  explicit DaemonMetrics(Registry& r);

  // Objects
  Counter& objects_discovered;         // hivehook_objects_discovered_total
  Family<Counter>& objects_finished;   // hivehook_objects_total{outcome}: archived|quarantined|deleted|kept|unmatched|ignored|duplicate
  // Runs
  Family<Counter>& runs_started;       // hivehook_runs_started_total{rule}
  Family<Counter>& runs_finished;      // hivehook_runs_finished_total{rule,outcome}: succeeded|failed|timed_out|interrupted
  Family<Histogram>& run_duration;     // hivehook_run_duration_seconds{rule}
  Family<Counter>& run_retries;        // hivehook_run_retries_total{rule}
  Gauge& jobs_running;                 // hivehook_jobs_running
  Gauge& jobs_queued;                  // hivehook_jobs_queued
  // Faults (DESIGN.md "Faults at run time")
  Family<Counter>& move_failures;      // hivehook_move_failures_total{action}: archive|delete|quarantine|duplicate
  Family<Counter>& object_loops;       // hivehook_object_loops_total{rule}: versions quarantined because the job kept rewriting its input
  Gauge& objects_stuck;                // hivehook_objects_stuck: decided, not moved (move_failed)
  Gauge& state_db_writable;            // hivehook_state_db_writable: 1, or 0 while writes fail
  Gauge& loop_max_stall;               // hivehook_event_loop_max_stall_seconds: longest loop stall seen
  // Lambda (warm execution environments)
  Gauge& lambda_environments;          // hivehook_lambda_environments: alive now, over all functions
  Counter& lambda_cold_starts;         // hivehook_lambda_cold_starts_total: environments started (init run)
  Counter& lambda_warm_starts;         // hivehook_lambda_warm_starts_total: invocations given to an already-used environment
  // The S3 API
  Family<Counter>& s3_refused;         // hivehook_s3_requests_refused_total{reason}: connections_per_client|connections_per_user|connections (503 SlowDown)|request_timeout (400 RequestTimeout)
  // Orchestration (DESIGN.md "Orchestration")
  Family<Gauge>& tasks_waiting;        // hivehook_tasks_waiting{rule}: waiting for after:/requires:
  Family<Counter>& tasks_skipped;      // hivehook_tasks_skipped_total{rule}: an after: rule failed for good
  Family<Counter>& batches_finished;   // hivehook_batches_total{rule,outcome}: succeeded|failed|skipped|abandoned
  Family<Gauge>& schedule_last_success;  // hivehook_schedule_last_success_timestamp_seconds{rule}
  // Notifications
  Family<Counter>& notifications;      // hivehook_notifications_total{target,outcome}: sent|retry|dead
  Family<Histogram>& notify_duration;  // hivehook_notification_duration_seconds{target}
  Gauge& outbox_pending;               // hivehook_outbox_pending
  // Watching and rules
  Gauge& watched_directories;          // hivehook_watched_directories
  Gauge& unwatched_directories;        // hivehook_unwatched_directories: could not be watched (scanned instead)
  Gauge& landing_missing;              // hivehook_landing_missing: 1 while the landing folder itself is gone
  Counter& watch_overflows;            // hivehook_watch_overflows_total
  Family<Counter>& scans;              // hivehook_scans_total{reason}: startup|overflow|reconcile|new_directory|manual
  Family<Counter>& rule_reloads;       // hivehook_rules_reloads_total{result}: loaded|rejected
  Gauge& rules_loaded;                 // hivehook_rules_loaded
  Gauge& rules_degraded;               // hivehook_rules_degraded: 1 while the rules on disk are rejected
  // Process
  Gauge& start_time;                   // hivehook_start_time_seconds (set at construction)
  Family<Gauge>& build_info;           // hivehook_build_info{version} 1
};

}  // namespace hivehook::metrics
