#include "daemon/http_listener.h"

#include "rules/config_keys.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <fstream>
#include <spdlog/spdlog.h>

#include "api/views.h"
#include "base/host_port.h"
#include "daemon/status_report.h"

namespace hivehook {

namespace {
// 32 random bytes as 64 hex digits; "" when OpenSSL's generator fails (no local token then).
std::string random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) out += hex[b >> 4], out += hex[b & 15];
  return out;
}
}  // namespace

HttpListener::HttpListener(boost::asio::io_context& io, const Config& config, PipelineStats& stats, Health& health,
                           Pipeline& pipeline, std::shared_ptr<const RuleSet> rules)
    : config_(config), rules_(std::move(rules)) {
  api::ListenerOptions o;
  o.listen = config.http->listen;
  o.token = config.http->token;
  o.read_needs_token = config.http->read_needs_token;
  o.local_token = random_token();
  local_token_ = o.local_token;
  o.state = config.state;
  o.metrics = [&stats] { return stats.registry.render_prometheus(); };
  o.health = [&health] { return health.check(); };
  o.rules = [this] {
    std::shared_ptr<const RuleSet> now;
    {
      std::lock_guard lock(rules_mu_);
      now = rules_;
    }
    nlohmann::json out = nlohmann::json::array();
    const Redactor redact = redactor();
    for (const auto& r : now->rules) out.push_back(api::rule_json(r, redact));
    return out;
  };
  // The same batches and schedules as `hivehook status` (issue 14 F16), on the rules in force.
  o.orchestration = [this](Store& store) {
    std::shared_ptr<const RuleSet> now;
    {
      std::lock_guard lock(rules_mu_);
      now = rules_;
    }
    return nlohmann::json{{"batches", open_batches_json(store)},
                          {"abandoned_batches", abandoned_batches_json(store)},
                          {"batch_offers", batch_offers_json(store)},
                          {"schedules", open_schedules_json(store)},
                          {"schedule_times", schedule_times(*now, &store, SystemClock::instance().now(), 1, /*daemon_runs=*/true)}};
  };
  o.redactor = [this] { return redactor(); };  // a copy shares the secrets: cheap per request
  // Replays run on the loop, which owns the pipeline and the store.
  o.actions.replay = [&io, &pipeline](ReplayRequest req, api::Actions::Reply reply) {
    boost::asio::post(io, [&pipeline, req = std::move(req), reply = std::move(reply)] {
      auto [status, body] = pipeline.replay(req);
      reply(status, std::move(body));
    });
  };
  listener_ = std::make_unique<api::Listener>(std::move(o));
}

HttpListener::~HttpListener() { stop(); }

std::filesystem::path http_address_file(const Config& config) {
  if (is_postgres_state(config.state.string())) return config.state_dir / "http-address";
  return config.state.string() + ".http";
}

std::filesystem::path http_local_token_file(const Config& config) {
  if (is_postgres_state(config.state.string())) return config.state_dir / "http-token";
  return config.state.string() + ".http-token";
}

std::filesystem::path HttpListener::url_file() const { return http_address_file(config_); }

// Written 0600 from the start (never readable by others, whatever the umask), over an old one.
void HttpListener::write_local_token(const std::string& token) {
  const auto path = http_local_token_file(config_);
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::warn("cannot write {}: {}; `hivehook retry`/`replay` need http.token to ask this daemon", path.string(),
                 std::strerror(errno));
    return;
  }
  const std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = (::close(fd) == 0) && ok;
  if (!ok) spdlog::warn("cannot write {}: {}", path.string(), std::strerror(errno));
}

http::StartError HttpListener::start(int64_t last_event_id) {
  listener_->events().set_last_id(last_event_id);
  if (auto err = listener_->start(); !err.empty()) return err;
  started_ = true;
  if (auto addr = parse_host_port(config_.http->listen, nullptr))
    std::ofstream(url_file()) << local_url(*addr, listener_->port()) << "\n";
  if (!local_token_.empty()) write_local_token(local_token_);
  spdlog::info("http on port {} ({}): /metrics, /healthz, the console at /, the API at /api/v1/", listener_->port(),
               config_.http->listen);
  if (auto addr = parse_host_port(config_.http->listen, nullptr);
      addr && !is_loopback_host(addr->host) && config_.http->token.empty())
    spdlog::warn("{}", http_exposed_warning(listen_key(config_.file), config_.http->listen));
  return {};
}

void HttpListener::stop() {
  if (!started_) return;
  started_ = false;
  listener_->stop();
  std::error_code ec;
  std::filesystem::remove(url_file(), ec);
  std::filesystem::remove(http_local_token_file(config_), ec);
}

unsigned short HttpListener::port() const { return listener_->port(); }

Redactor HttpListener::redactor() {
  std::lock_guard lock(rules_mu_);
  if (redactor_) return *redactor_;
  return rules_ ? rules_->redactor : Redactor();
}

void HttpListener::set_redactor(Redactor redact) {
  std::lock_guard lock(rules_mu_);
  redactor_ = std::move(redact);
}

void HttpListener::set_rules(std::shared_ptr<const RuleSet> rules) {
  std::lock_guard lock(rules_mu_);
  rules_ = std::move(rules);
}

void HttpListener::publish(const std::vector<AuditEvent>& events) { listener_->events().publish(events); }

}  // namespace hivehook
