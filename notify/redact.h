// Secrets (webhook signing keys, SMTP passwords, URL credentials, every ${VAR} of a notify target)
// never reach details, logs, the store or jobs.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace hivehook {

// Replaces every occurrence of each secret — as written, and percent-encoded as it appears inside a
// URL — with "***". Cheap to copy; callable from any thread.
class Redactor {
 public:
  Redactor() = default;
  explicit Redactor(std::vector<std::string> secrets);
  std::string operator()(std::string text) const;
  bool empty() const { return !secrets_ || secrets_->empty(); }

 private:
  std::shared_ptr<const std::vector<std::string>> secrets_;
};

// Wraps every sink of spdlog's default logger so each log line passes through `redact` (a later
// call replaces the previous redactor).
void install_log_redaction(Redactor redact);

}  // namespace hivehook

namespace hivehook::notify_detail {

// Replaces every occurrence of each non-empty secret in `text` with "***".
std::string redact(std::string text, const std::vector<std::string>& secrets);

// The password part of a URL's userinfo ("scheme://user:PASS@host"), or "".
std::string url_password(const std::string& url);

// Control characters (CR, LF, NUL ...) replaced by spaces: safe inside one header line or log line.
std::string one_line(std::string text);

}  // namespace hivehook::notify_detail
