#include "harness.h"

#include <sstream>

namespace hivehook::test {

PipelineHarness::PipelineHarness(const std::string& rules_yaml, const std::string& config_extra) {
  const auto root = dir.path();
  for (const char* d : {"landing", "archive", "quarantine"}) std::filesystem::create_directories(root / d);
  write_file(root / "rules.yaml", rules_yaml);
  write_file(root / "hivehook.yaml",
             "landing: landing\narchive: archive\nquarantine: quarantine\nstate: state/hivehook.db\n"
             "rules: rules.yaml\n" + config_extra);
  Diagnostics diags;
  auto c = load_config(root / "hivehook.yaml", diags);
  std::optional<RuleSet> r;
  if (c) r = load_rules(c->rules, *c, diags);
  if (!c || !r) throw std::runtime_error("test config or rules invalid:\n" + diags.str());
  config = *c;
  rules = std::make_shared<const RuleSet>(std::move(*r));
  files = std::make_unique<FaultyFiles>(config);
  build();
  pipeline->recover();
  drain();
}

PipelineHarness::~PipelineHarness() {
  pipeline.reset();
  batch.reset();
}

void PipelineHarness::build() {
  pipeline.reset();
  batch.reset();
  store.reset();
  io_owner_ = std::make_unique<boost::asio::io_context>(1);
  io_ = io_owner_.get();
  stats = std::make_unique<PipelineStats>();
  store = std::make_unique<Store>(config.state, Store::Mode::owner, clock);
  batch = std::make_unique<CommitBatch>(*io_, *store, nullptr);
  batch->on_committed = [this](std::size_t) { ++commits; };
  pipeline = std::make_unique<Pipeline>(*io_, config, rules, *store, *batch, *stats,
                                        PipelineSeams{clock, clock, *files, runner});
}

void PipelineHarness::restart() {
  runner.forget_all();
  build();
  pipeline->recover();
  drain();
}

bool PipelineHarness::drain() {
  try {
    io_->restart();
    while (io_->poll_one() > 0) {
    }
    return false;
  } catch (const Crash&) {
    runner.forget_all();
    build();
    return true;
  }
}

void PipelineHarness::put(const std::string& key, const std::string& content) {
  auto p = dir.path() / "landing" / key;
  std::filesystem::create_directories(p.parent_path());
  write_file(p, content);
}

void PipelineHarness::land(const std::string& key, const std::string& content) {
  put(key, content);
  pipeline->offer(key);
  drain();
}

void PipelineHarness::advance(Duration d) {
  try {
    clock.advance(d);
  } catch (const Crash&) {
    runner.forget_all();
    build();
  }
  drain();
}

std::vector<std::string> PipelineHarness::events(const std::string& name) {
  std::vector<std::string> out;
  for (const auto& e : store->events_after(0, 1000000))
    if (name.empty() || e.event == name) out.push_back(e.event + (e.key ? " " + *e.key : std::string()));
  return out;
}

std::optional<ObjectState> PipelineHarness::state(const std::string& key) {
  auto o = store->last_object(key);
  if (!o) return std::nullopt;
  return o->state;
}

bool PipelineHarness::exists(Area area, const std::string& key) const {
  return std::filesystem::exists(files->path(area, key));
}

}  // namespace hivehook::test
