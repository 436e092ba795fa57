#include "metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace hivehook::metrics {

// ---- Histogram ------------------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (std::isnan(bounds_[i]) || (i > 0 && !(bounds_[i] > bounds_[i - 1])))
      throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
  }
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();  // implicit
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  // Prometheus buckets are "less than or equal": the first bound >= v.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  if (std::isnan(v)) i = bounds_.size();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // _count is derived from the buckets so that it always equals the +Inf bucket.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> duration_buckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
}

// ---- Family ---------------------------------------------------------------------------------------

template <class T>
T& Family<T>::labels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size())
    throw std::invalid_argument("expected " + std::to_string(label_names_.size()) + " label values, got " +
                                std::to_string(values.size()));
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>)
    child = std::make_unique<Histogram>(bounds_);
  else
    child = std::make_unique<T>();
  return *children_.emplace(values, std::move(child)).first->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry -------------------------------------------------------------------------------------

namespace {
enum Type { kCounter, kGauge, kHistogram };
const char* type_name(int t) { return t == kCounter ? "counter" : t == kGauge ? "gauge" : "histogram"; }
}  // namespace

struct Registry::Entry {
  std::string name, help;
  int type = kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  // Exactly one of these is set: the plain metric when there are no labels, else the family.
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Gauge>> gauges;
  std::unique_ptr<Family<Histogram>> histograms;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::add(const std::string& name, const std::string& help, int type,
                               std::vector<std::string> labels, std::vector<double> bounds) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& l : labels) {
    if (!valid_label_name(l) || l.rfind("__", 0) == 0 || (type == kHistogram && l == "le"))
      throw std::invalid_argument("invalid label name for " + name + ": " + l);
  }
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (e->name != name) continue;
    bool same = e->type == type && e->label_names == labels && (type != kHistogram || e->bounds == bounds);
    if (!same) throw std::invalid_argument("metric " + name + " registered twice with different shape");
    return *e;
  }
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = type;
  e->bounds = bounds;
  bool plain = labels.empty();
  switch (type) {
    case kCounter:
      if (plain) e->counter = std::make_unique<Counter>();
      else e->counters.reset(new Family<Counter>(labels));
      break;
    case kGauge:
      if (plain) e->gauge = std::make_unique<Gauge>();
      else e->gauges.reset(new Family<Gauge>(labels));
      break;
    default:
      if (plain) e->histogram = std::make_unique<Histogram>(bounds);
      else e->histograms.reset(new Family<Histogram>(labels, bounds));
      // Validate the bounds now, not at the first labels() call.
      if (!plain) Histogram check(bounds);
  }
  e->label_names = std::move(labels);
  entries_.push_back(std::move(e));
  return *entries_.back();
}

Counter& Registry::counter(const std::string& name, const std::string& help) {
  return *add(name, help, kCounter, {}, {}).counter;
}
Gauge& Registry::gauge(const std::string& name, const std::string& help) {
  return *add(name, help, kGauge, {}, {}).gauge;
}
Histogram& Registry::histogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
  return *add(name, help, kHistogram, {}, std::move(bounds)).histogram;
}
Family<Counter>& Registry::counter_family(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names) {
  if (label_names.empty()) throw std::invalid_argument("a family needs label names: " + name);
  return *add(name, help, kCounter, std::move(label_names), {}).counters;
}
Family<Gauge>& Registry::gauge_family(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  if (label_names.empty()) throw std::invalid_argument("a family needs label names: " + name);
  return *add(name, help, kGauge, std::move(label_names), {}).gauges;
}
Family<Histogram>& Registry::histogram_family(const std::string& name, const std::string& help,
                                              std::vector<std::string> label_names, std::vector<double> bounds) {
  if (label_names.empty()) throw std::invalid_argument("a family needs label names: " + name);
  return *add(name, help, kHistogram, std::move(label_names), std::move(bounds)).histograms;
}

// ---- Rendering ------------------------------------------------------------------------------------

namespace {

// `{a="x",b="y"}` plus an optional extra label (histogram "le"); empty when there are no labels.
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

void emit_sample(std::string& out, const std::string& name, std::string_view suffix, const std::string& labels,
            const std::string& value) {
  out += name;
  out += suffix;
  out += labels;
  out += ' ';
  out += value;
  out += '\n';
}

void render_histogram(std::string& out, const std::string& name, const std::vector<std::string>& names,
                      const std::vector<std::string>& values, const Histogram& h) {
  auto s = h.snapshot();
  for (size_t i = 0; i < s.bounds.size(); ++i)
    emit_sample(out, name, "_bucket", label_set(names, values, "le", format_value(s.bounds[i])),
           std::to_string(s.cumulative[i]));
  emit_sample(out, name, "_bucket", label_set(names, values, "le", "+Inf"), std::to_string(s.count));
  std::string ls = label_set(names, values);
  emit_sample(out, name, "_sum", ls, format_value(s.sum));
  emit_sample(out, name, "_count", ls, std::to_string(s.count));
}

}  // namespace

std::string Registry::render_prometheus() const {
  std::string out;
  out.reserve(4096);
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    out += "# HELP " + e->name + ' ' + escape_help(e->help) + '\n';
    out += "# TYPE " + e->name + ' ' + type_name(e->type) + '\n';
    static const std::vector<std::string> none;
    auto plain = [&](const std::vector<std::string>& names, const std::vector<std::string>& values, double v) {
      emit_sample(out, e->name, "", label_set(names, values), format_value(v));
    };
    if (e->counter) plain(none, none, e->counter->value());
    if (e->gauge) plain(none, none, e->gauge->value());
    if (e->histogram) render_histogram(out, e->name, none, none, *e->histogram);
    auto each = [&](auto& fam, auto&& emit) {
      // Copy the child pointers under the family lock, then read the atomics without it.
      using Child = typename std::remove_reference_t<decltype(fam)>::Child;
      std::vector<std::pair<std::vector<std::string>, const Child*>> kids;
      {
        std::lock_guard flock(fam.mu_);
        for (const auto& [values, child] : fam.children_) kids.emplace_back(values, child.get());
      }
      for (const auto& [values, child] : kids) emit(values, *child);
    };
    if (e->counters)
      each(*e->counters, [&](const auto& values, const Counter& c) { plain(e->label_names, values, c.value()); });
    if (e->gauges)
      each(*e->gauges, [&](const auto& values, const Gauge& g) { plain(e->label_names, values, g.value()); });
    if (e->histograms)
      each(*e->histograms,
           [&](const auto& values, const Histogram& h) { render_histogram(out, e->name, e->label_names, values, h); });
  }
  return out;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace hivehook::metrics
