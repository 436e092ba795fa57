// The daemon's HTTP listener (config `http:`, or its short form `metrics: HOST:PORT`): /metrics,
// /healthz, the web console and /api/v1 (api/listener.h) on their own threads, wired to the loop.
// Replay and retry requests are carried out on the loop (Pipeline::replay); committed audit events
// are published to the API's live stream; the rules in force are read through a snapshot that
// reloads replace. While it serves, http_address_file() holds the URL `hivehook replay`/`retry` use
// to reach this daemon (the bound port, also when the config says port 0), and
// http_local_token_file() the token they may use to ask it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/listener.h"
#include "daemon/health.h"
#include "pipeline/pipeline.h"
#include "pipeline/stats.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "store/store.h"

namespace hivehook {

// Where the running daemon writes its listener's URL ("http://127.0.0.1:PORT"): "<state>.http"
// beside a SQLite state, "<state_dir>/http-address" with a PostgreSQL state (node-local).
std::filesystem::path http_address_file(const Config& config);
// Where the running daemon keeps its local token ("<state>.http-token", "<state_dir>/http-token"):
// 64 hex digits from OpenSSL's RAND_bytes, new at each start, mode 0600 (the daemon's user), removed
// at stop. The API accepts it for replay and retry as it accepts http.token, so `hivehook retry`
// works for root and the service user (who may read the state folder, and so could write the state
// DB anyway) without a token in the config (issue 16 N9; docs/decisions.md).
std::filesystem::path http_local_token_file(const Config& config);

class HttpListener {
 public:
  // `config.http` must be set. Nothing listens before start().
  HttpListener(boost::asio::io_context& io, const Config& config, PipelineStats& stats, Health& health,
               Pipeline& pipeline, std::shared_ptr<const RuleSet> rules);
  ~HttpListener();  // stop()

  // Listens; empty, or why it cannot (bad address, port in use: http::StartError). `last_event_id`: the store's newest
  // event id, where the live stream's ids continue.
  http::StartError start(int64_t last_event_id);
  void stop();
  unsigned short port() const;
  // After a reload (thread-safe): the API's /rules shows these from now on.
  void set_rules(std::shared_ptr<const RuleSet> rules);
  // The daemon's masking (base/redactor.h), applied to what the API serves; until set, the rules'.
  void set_redactor(Redactor redact);
  // A commit's events, in id order, to the live stream (Server-Sent Events).
  void publish(const std::vector<AuditEvent>& events);

 private:
  std::filesystem::path url_file() const;
  void write_local_token(const std::string& token);

  const Config& config_;
  std::mutex rules_mu_;
  std::shared_ptr<const RuleSet> rules_;  // guarded by rules_mu_: replaced on the loop, read by the API
  std::optional<Redactor> redactor_;      // guarded by rules_mu_
  Redactor redactor();                    // redactor_, else rules_->redactor
  std::unique_ptr<api::Listener> listener_;
  bool started_ = false;
  std::string local_token_;  // what http_local_token_file() holds while serving
};

}  // namespace hivehook
