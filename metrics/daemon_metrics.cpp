#include "metrics/daemon_metrics.h"
#include "base/build_info.h"

#include <chrono>

namespace hivehook::metrics {

namespace {
std::vector<double> notify_buckets() { return {0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}; }
}  // namespace

DaemonMetrics::DaemonMetrics(Registry& r)
    : objects_discovered(r.counter("hivehook_objects_discovered_total", "Objects (file arrivals) discovered.")),
      objects_finished(r.counter_family("hivehook_objects_total", "Objects by final outcome.", {"outcome"})),
      runs_started(r.counter_family("hivehook_runs_started_total", "Job runs started.", {"rule"})),
      runs_finished(
          r.counter_family("hivehook_runs_finished_total", "Job runs finished, by outcome.", {"rule", "outcome"})),
      run_duration(r.histogram_family("hivehook_run_duration_seconds", "Job run wall-clock duration.", {"rule"},
                                      duration_buckets())),
      run_retries(r.counter_family("hivehook_run_retries_total", "Job retries scheduled.", {"rule"})),
      jobs_running(r.gauge("hivehook_jobs_running", "Job processes running now.")),
      jobs_queued(r.gauge("hivehook_jobs_queued", "Runs waiting for a worker or for their rule's concurrency.")),
      move_failures(r.counter_family("hivehook_move_failures_total",
                                     "Final actions (archive, delete, quarantine) that failed and will be retried.",
                                     {"action"})),
      object_loops(r.counter_family("hivehook_object_loops_total",
                                    "Objects quarantined without a run because the rule's job kept rewriting its own input.",
                                    {"rule"})),
      objects_stuck(r.gauge("hivehook_objects_stuck", "Objects decided but not moved: their move failed (move_failed).")),
      state_db_writable(r.gauge("hivehook_state_db_writable", "1 while the state DB accepts writes, 0 while they fail.")),
      loop_max_stall(r.gauge("hivehook_event_loop_max_stall_seconds",
                             "The longest time the event loop was busy without turning, since start.")),
      lambda_environments(r.gauge("hivehook_lambda_environments", "Lambda execution environments alive now.")),
      lambda_cold_starts(r.counter("hivehook_lambda_cold_starts_total",
                                   "Lambda execution environments started (each runs the function's init).")),
      lambda_warm_starts(r.counter("hivehook_lambda_warm_starts_total",
                                   "Lambda invocations given to an environment that had run one before.")),
      s3_refused(r.counter_family("hivehook_s3_requests_refused_total",
                                  "S3 clients the endpoint turned away by itself: 503 SlowDown at a connection limit "
                                  "(connections_per_client, connections_per_user, connections) or 400 "
                                  "RequestTimeout for a body too slow (request_timeout).",
                                  {"reason"})),
      tasks_waiting(r.gauge_family("hivehook_tasks_waiting",
                                   "Objects whose run of this rule waits for the rules its after:/requires: name.",
                                   {"rule"})),
      tasks_skipped(r.counter_family("hivehook_tasks_skipped_total",
                                     "Runs not started because a rule named by after: failed for good.", {"rule"})),
      batches_finished(r.counter_family("hivehook_batches_total",
                                        "Batches of a batch: rule that ended: succeeded, failed (retries exhausted), "
                                        "skipped (a member failed: trigger rule all_success) or abandoned (the rule changed).",
                                        {"rule", "outcome"})),
      schedule_last_success(r.gauge_family("hivehook_schedule_last_success_timestamp_seconds",
                                           "Unix time at which the latest firing of a schedule: rule succeeded (as a "
                                           "cron job's last-success time: alert when time() minus it grows too large).",
                                           {"rule"})),
      notifications(r.counter_family("hivehook_notifications_total", "Notification delivery attempts, by outcome.",
                                     {"target", "outcome"})),
      notify_duration(r.histogram_family("hivehook_notification_duration_seconds",
                                         "Time one delivery attempt took.", {"target"}, notify_buckets())),
      outbox_pending(r.gauge("hivehook_outbox_pending", "Notifications waiting in the outbox.")),
      watched_directories(r.gauge("hivehook_watched_directories", "Directories under landing with an inotify watch.")),
      unwatched_directories(r.gauge("hivehook_unwatched_directories",
                                    "Folders under landing without an inotify watch (e.g. past max_user_watches), "
                                    "covered by periodic scans.")),
      landing_missing(r.gauge("hivehook_landing_missing",
                              "1 while the landing folder itself is missing (renamed or deleted): nothing is watched.")),
      watch_overflows(r.counter("hivehook_watch_overflows_total", "inotify queue overflows (each causes a rescan).")),
      scans(r.counter_family("hivehook_scans_total", "Full scans of landing, by reason.", {"reason"})),
      rule_reloads(r.counter_family("hivehook_rules_reloads_total", "Rules reloads, by result.", {"result"})),
      rules_loaded(r.gauge("hivehook_rules_loaded", "Rules in force.")),
      rules_degraded(r.gauge("hivehook_rules_degraded",
                             "1 while the rules on disk are rejected and the last good rules run instead.")),
      start_time(r.gauge("hivehook_start_time_seconds", "When the daemon started, Unix seconds.")),
      build_info(r.gauge_family("hivehook_build_info", "Always 1; the version and the commit as labels.", {"version", "revision"})) {
  using namespace std::chrono;
  start_time.set(duration<double>(system_clock::now().time_since_epoch()).count());
  build_info.labels({std::string(build_version()), std::string(build_commit())}).set(1);
}

}  // namespace hivehook::metrics
