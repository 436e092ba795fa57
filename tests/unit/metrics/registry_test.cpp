// The Prometheus registry and its text exposition format.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <thread>

#include "metrics/registry.h"

using namespace hivehook::metrics;

namespace {

// "name{labels} value" lines by everything before the last space.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

}  // namespace

TEST(Registry, RendersHelpTypeAndValues) {
  Registry r;
  auto& c = r.counter("hivehook_objects_discovered_total", "Objects discovered.");
  auto& g = r.gauge("hivehook_jobs_running", "Jobs running now.");
  c.inc();
  c.inc(2);
  c.inc(-5);  // ignored: counters never go down
  g.set(4);
  g.dec();
  std::string text = r.render_prometheus();
  EXPECT_NE(text.find("# HELP hivehook_objects_discovered_total Objects discovered.\n"
                      "# TYPE hivehook_objects_discovered_total counter\n"
                      "hivehook_objects_discovered_total 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE hivehook_jobs_running gauge\nhivehook_jobs_running 3\n"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(Registry, LabelledChildrenAndEscaping) {
  Registry r;
  auto& f = r.counter_family("hivehook_runs_total", "Runs by\nrule \\ outcome.", {"rule", "outcome"});
  f.labels({"etl", "succeeded"}).inc();
  f.labels({"etl", "succeeded"}).inc();
  f.labels({"we\"ird\\rule\nx", "failed"}).inc();
  EXPECT_THROW(f.labels({"only-one"}), std::invalid_argument);
  std::string text = r.render_prometheus();
  EXPECT_NE(text.find("# HELP hivehook_runs_total Runs by\\nrule \\\\ outcome.\n"), std::string::npos) << text;
  auto s = samples(text);
  EXPECT_EQ(s["hivehook_runs_total{rule=\"etl\",outcome=\"succeeded\"}"], "2");
  EXPECT_EQ(s["hivehook_runs_total{rule=\"we\\\"ird\\\\rule\\nx\",outcome=\"failed\"}"], "1") << text;
}

TEST(Registry, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  auto& h = r.histogram("hivehook_run_duration_seconds", "Run durations.", {0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 2.0, 100.0}) h.observe(v);
  auto s = samples(r.render_prometheus());
  EXPECT_EQ(s["hivehook_run_duration_seconds_bucket{le=\"0.1\"}"], "2");  // le is inclusive
  EXPECT_EQ(s["hivehook_run_duration_seconds_bucket{le=\"1\"}"], "3");
  EXPECT_EQ(s["hivehook_run_duration_seconds_bucket{le=\"10\"}"], "4");
  EXPECT_EQ(s["hivehook_run_duration_seconds_bucket{le=\"+Inf\"}"], "5");
  EXPECT_EQ(s["hivehook_run_duration_seconds_count"], "5");
  EXPECT_EQ(std::stod(s["hivehook_run_duration_seconds_sum"]), 102.65);

  auto& hf = r.histogram_family("hivehook_job_seconds", "Per rule.", {"rule"}, {1, 2});
  hf.labels({"a"}).observe(1.5);
  auto s2 = samples(r.render_prometheus());
  EXPECT_EQ(s2["hivehook_job_seconds_bucket{rule=\"a\",le=\"1\"}"], "0");
  EXPECT_EQ(s2["hivehook_job_seconds_bucket{rule=\"a\",le=\"2\"}"], "1");
  EXPECT_EQ(s2["hivehook_job_seconds_bucket{rule=\"a\",le=\"+Inf\"}"], "1");
  EXPECT_EQ(s2["hivehook_job_seconds_count{rule=\"a\"}"], "1");
}

TEST(Registry, ReRegistrationReturnsTheSameMetricOrThrows) {
  Registry r;
  auto& a = r.counter("x_total", "x");
  EXPECT_EQ(&a, &r.counter("x_total", "x"));
  EXPECT_THROW(r.gauge("x_total", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("bad name", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter_family("y_total", "y", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.histogram_family("h", "h", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h2", "h", {2, 1}), std::invalid_argument);
}

TEST(Registry, ValuesFormat) {
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
}

TEST(Registry, ConcurrentIncrementsAreNotLost) {
  Registry r;
  auto& c = r.counter("c_total", "c");
  auto& f = r.counter_family("f_total", "f", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        f.labels({std::to_string(i % 3)}).inc();
        if (i % 1000 == 0) (void)r.render_prometheus();
      }
      (void)t;
    });
  for (auto& th : threads) th.join();
  auto s = samples(r.render_prometheus());
  EXPECT_EQ(s["c_total"], "40000");
  EXPECT_EQ(std::stod(s["f_total{k=\"0\"}"]) + std::stod(s["f_total{k=\"1\"}"]) + std::stod(s["f_total{k=\"2\"}"]),
            40000);
}

#include "metrics/daemon_metrics.h"

TEST(DaemonMetrics, RegistersTheDocumentedFamilies) {
  Registry r;
  DaemonMetrics m(r);
  m.runs_finished.labels({"etl", "succeeded"}).inc();
  m.run_duration.labels({"etl"}).observe(1.5);
  std::string text = r.render_prometheus();
  for (const char* name : {"hivehook_objects_discovered_total", "hivehook_runs_finished_total",
                           "hivehook_run_duration_seconds", "hivehook_notifications_total", "hivehook_outbox_pending",
                           "hivehook_jobs_running", "hivehook_watch_overflows_total", "hivehook_build_info"})
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  EXPECT_NE(text.find("hivehook_runs_finished_total{rule=\"etl\",outcome=\"succeeded\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hivehook_build_info{version=\""), std::string::npos);
}
