#include "daemon/kept_rules.h"

#include "base/clock.h"
#include "store/meta.h"

namespace hivehook {

namespace {
constexpr const char* kLastGood = "rules.last_good";
constexpr const char* kRejected = "rules.rejected";

std::string time_text(int64_t ms) { return format_rfc3339_ms(SystemTime(std::chrono::milliseconds(ms))); }
}  // namespace

void keep_rules(Store& store, const RuleSet& rules, int64_t now_ms) {
  nlohmann::json sources = nlohmann::json::array();
  for (const auto& s : rules.sources) sources.push_back({{"file", s.file.string()}, {"text", s.text}});
  // Texts are kept byte for byte: invalid UTF-8 would make dump() throw, so it is escaped as is.
  nlohmann::json value = {{"kept_at", now_ms}, {"sources", sources}};
  put_meta(store, kLastGood, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::optional<KeptRules> kept_rules(Store& store, std::string* error) {
  auto value = get_meta(store, kLastGood);
  if (!value) {
    if (error) *error = "no last good rules are kept in " + store.display();
    return std::nullopt;
  }
  try {
    auto j = nlohmann::json::parse(*value);
    KeptRules kept;
    kept.kept_at_ms = j.at("kept_at").get<int64_t>();
    for (const auto& s : j.at("sources"))
      kept.sources.push_back({s.at("file").get<std::string>(), s.at("text").get<std::string>()});
    return kept;
  } catch (const nlohmann::json::exception& e) {
    if (error) *error = "the last good rules kept in " + store.display() + " are unreadable: " + e.what();
    return std::nullopt;
  }
}

std::optional<KeptRules> kept_rules_at(const std::filesystem::path& state, std::string* error) {
  std::error_code ec;
  if (!is_postgres_state(state.string()) && !std::filesystem::exists(state, ec)) {
    if (error) *error = "no state DB at " + state.string() + ", so no last good rules";
    return std::nullopt;
  }
  try {
    Store store(state, Store::Mode::reader);
    return kept_rules(store, error);
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
}

void record_rules_rejected(Store& store, RulesRejection rejection) {
  if (auto before = rules_rejected(store)) rejection.since_ms = before->since_ms;
  nlohmann::json value = {{"since", rejection.since_ms},
                          {"errors", rejection.errors},
                          {"running_kept_at", rejection.running_kept_at_ms}};
  if (!rejection.config_file.empty()) value["config_file"] = rejection.config_file;
  put_meta(store, kRejected, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void clear_rules_rejected(Store& store) { erase_meta(store, kRejected); }

std::optional<RulesRejection> rules_rejected(Store& store) {
  auto value = get_meta(store, kRejected);
  if (!value) return std::nullopt;
  RulesRejection r;
  try {
    auto j = nlohmann::json::parse(*value);
    r.since_ms = j.value("since", int64_t{0});
    r.errors = j.value("errors", std::vector<std::string>{});
    r.running_kept_at_ms = j.value("running_kept_at", int64_t{0});
    r.config_file = j.value("config_file", std::string());
  } catch (const nlohmann::json::exception& e) {
    r.errors = {std::string("unreadable record of the rejection: ") + e.what()};
  }
  return r;
}

std::string rejected_what(const RulesRejection& r) {
  return r.config_file.empty() ? "rules on disk" : "config file " + r.config_file;
}

std::string describe_rejection(const RulesRejection& r) {
  std::string s = rejected_what(r) + " rejected since " + time_text(r.since_ms) + " (" +
                  std::to_string(r.errors.size()) + (r.errors.size() == 1 ? " error" : " errors");
  if (!r.errors.empty()) s += "; first: " + r.errors.front();
  s += r.config_file.empty() ? "); running the last good rules" : "); running the previous config and the last good rules";
  if (r.running_kept_at_ms > 0) s += " kept at " + time_text(r.running_kept_at_ms);
  return s;
}

}  // namespace hivehook
