// Prometheus metrics: counters, gauges and fixed-bucket histograms, rendered as text format 0.0.4.
//
// Thread-safe. Updating an unlabelled metric (or a labelled child the caller keeps a reference to) is
// a lock-free atomic operation with no allocation, so the daemon may do it on its hot path.
// Looking up a labelled child takes that family's mutex; metrics and children are never removed, so
// references stay valid for the registry's lifetime.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hivehook::metrics {

class Counter {
 public:
  void inc(double v = 1.0) {
    if (v > 0) value_.fetch_add(v, std::memory_order_relaxed);  // counters only go up
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1.0) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds`: the upper bounds of the finite buckets, strictly increasing (+Inf is implicit).
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0.0};
};

// Default buckets for durations in seconds (10 ms .. 1 h).
std::vector<double> duration_buckets();

// A metric with label names; each distinct tuple of label values is one child.
template <class T>
class Family {
 public:
  // Throws std::invalid_argument when the number of values differs from the label names.
  T& labels(const std::vector<std::string>& values);
  using Child = T;

 private:
  friend class Registry;
  Family(std::vector<std::string> label_names, std::vector<double> bounds = {})
      : label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name again returns the same metric when the type and labels agree; otherwise
  // (or for an invalid metric/label name) throws std::invalid_argument. Registration is a startup
  // step, so throwing there is a programming error surfaced early.
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> bounds);
  Family<Counter>& counter_family(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names);
  Family<Gauge>& gauge_family(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names);
  Family<Histogram>& histogram_family(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names, std::vector<double> bounds);

  // Text exposition format 0.0.4: families in registration order, children sorted by labels.
  std::string render_prometheus() const;

 private:
  struct Entry;
  Entry& add(const std::string& name, const std::string& help, int type, std::vector<std::string> labels,
             std::vector<double> bounds);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Label value escaping per the exposition format: backslash, double quote, newline.
std::string escape_label_value(std::string_view v);
// HELP text escaping: backslash and newline.
std::string escape_help(std::string_view v);
// Sample value: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
std::string format_value(double v);
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace hivehook::metrics
