#include "api/token_guard.h"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace hivehook::api {

using std::chrono::milliseconds;

TokenGuard::TokenGuard(TokenGuardOptions options, Clock now) : options_(options), now_(std::move(now)) {}

std::optional<std::chrono::seconds> TokenGuard::locked(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(address);
  if (it == clients_.end()) return std::nullopt;
  const Time now = now_();
  if (it->second.locked_until <= now) return std::nullopt;
  auto left = std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
  return std::max(left, std::chrono::seconds(1));
}

void TokenGuard::refused(const std::string& address, const std::string& what) {
  std::lock_guard lock(mu_);
  const Time now = now_();
  ++refused_;
  if (!clients_.count(address) && clients_.size() >= options_.max_addresses) forget_oldest();
  Client& c = clients_[address];
  c.seen = now;
  if (c.failures == 0 || now - c.window_start >= options_.window) {
    c.window_start = now;
    c.failures = 0;
  }
  ++c.failures;
  ++c.unlogged;
  if (c.last_log == Time{} || now - c.last_log >= options_.log_every) {
    spdlog::warn("api: refused the token {} presented for {} ({} refused from this address since the last such line)",
                 address, what, c.unlogged);
    c.last_log = now;
    c.unlogged = 0;
  }
  if (c.failures < options_.max_failures || c.locked_until > now) return;
  // Locked out: doubled when the last lockout was within a day, else back to the first length.
  milliseconds length = options_.lockout;
  if (c.last_lockout.count() > 0 && now - c.last_lockout_at < std::chrono::hours(24))
    length = std::min(options_.max_lockout, c.last_lockout * 2);
  c.last_lockout = length;
  c.last_lockout_at = now;
  c.locked_until = now + length;
  c.failures = 0;
  ++lockouts_;
  spdlog::warn("api: {} had {} tokens refused within {} s: tokens from it are not checked for {} s (429)",
               address, options_.max_failures, options_.window.count() / 1000, length.count() / 1000);
}

void TokenGuard::forget_oldest() {
  const Time now = now_();
  // Prefer an address not locked now; among those, the one seen longest ago.
  auto oldest = clients_.end();
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    const bool locked = it->second.locked_until > now;
    if (oldest == clients_.end()) oldest = it;
    const bool oldest_locked = oldest->second.locked_until > now;
    if ((oldest_locked && !locked) || (oldest_locked == locked && it->second.seen < oldest->second.seen)) oldest = it;
  }
  if (oldest != clients_.end()) clients_.erase(oldest);
}

std::uint64_t TokenGuard::refused_total() const {
  std::lock_guard lock(mu_);
  return refused_;
}

std::uint64_t TokenGuard::lockouts_total() const {
  std::lock_guard lock(mu_);
  return lockouts_;
}

std::string TokenGuard::prometheus() const {
  std::lock_guard lock(mu_);
  return "# HELP hivehook_http_refused_tokens_total Bearer tokens the API refused (401).\n"
         "# TYPE hivehook_http_refused_tokens_total counter\n"
         "hivehook_http_refused_tokens_total " + std::to_string(refused_) + "\n"
         "# HELP hivehook_http_token_lockouts_total Client addresses locked out after too many refused tokens.\n"
         "# TYPE hivehook_http_token_lockouts_total counter\n"
         "hivehook_http_token_lockouts_total " + std::to_string(lockouts_) + "\n";
}

}  // namespace hivehook::api
