// Refused bearer tokens, per client address (issue 15 finding C10: 300 wrong tokens in 3.8 s left
// no log line, no metric, and were answered at full speed).
//
// Each refused token is counted (hivehook_http_refused_tokens_total) and logged as a warning, at
// most one line per address per `log_every` (the line says how many were refused since the last).
// An address that has had `max_failures` tokens refused within `window` is locked out for
// `lockout`, doubled at each lockout that follows within a day, up to `max_lockout`: while
// locked, a request presenting a token from it is answered 429 Too Many Requests with
// Retry-After (RFC 6585 section 4) without its token being compared. The daemon's local token
// (readable only by who may read the state folder) is still accepted from a locked address, so
// someone guessing on the same host cannot lock the local CLI out of replay and retry.
// The same scheme as fail2ban's maxretry/findtime/bantime, with its bantime.increment.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace hivehook::api {

struct TokenGuardOptions {
  std::size_t max_failures = 10;                          // refused tokens within `window` before a lockout
  std::chrono::milliseconds window{60'000};
  std::chrono::milliseconds lockout{60'000};              // the first lockout; doubled at each next one
  std::chrono::milliseconds max_lockout{15 * 60'000};
  std::chrono::milliseconds log_every{60'000};            // at most one warning per address per this
  std::size_t max_addresses = 4096;                       // addresses remembered (oldest forgotten first)
};

class TokenGuard {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit TokenGuard(TokenGuardOptions options = {}, Clock now = [] { return std::chrono::steady_clock::now(); });

  // How long `address` stays locked out (rounded up to whole seconds, >= 1), or nullopt when it
  // is not. Thread-safe, as are the others.
  std::optional<std::chrono::seconds> locked(const std::string& address);
  // Records a refused token from `address` for `what` ("POST /api/v1/replay"): counts it, logs
  // (rate-limited), and locks the address out once it reaches max_failures within window.
  void refused(const std::string& address, const std::string& what);

  std::uint64_t refused_total() const;
  std::uint64_t lockouts_total() const;
  // The two counters in the Prometheus text format (hivehook_http_refused_tokens_total,
  // hivehook_http_token_lockouts_total), with HELP and TYPE lines.
  std::string prometheus() const;

 private:
  using Time = std::chrono::steady_clock::time_point;
  struct Client {
    Time window_start{};
    std::size_t failures = 0;        // in the current window
    Time locked_until{};
    std::chrono::milliseconds last_lockout{0};
    Time last_lockout_at{};
    Time last_log{};
    std::size_t unlogged = 0;        // refused since the last warning line
    Time seen{};
  };
  void forget_oldest();

  TokenGuardOptions options_;
  Clock now_;
  mutable std::mutex mu_;
  std::map<std::string, Client> clients_;
  std::uint64_t refused_ = 0;
  std::uint64_t lockouts_ = 0;
};

}  // namespace hivehook::api
