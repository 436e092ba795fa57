#include "notify/redact.h"

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace hivehook {

namespace {
// RFC 3986 percent-encoding of everything but unreserved characters, as a URL would carry it.
std::string percent_encoded(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A sink in front of another: the message redacted, then handed on (formatting stays the inner
// sink's).
class RedactingSink final : public spdlog::sinks::sink {
 public:
  RedactingSink(spdlog::sink_ptr inner, Redactor redact) : inner_(std::move(inner)), redact_(std::move(redact)) {}
  void log(const spdlog::details::log_msg& msg) override {
    std::string text = redact_(std::string(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = text;
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> f) override { inner_->set_formatter(std::move(f)); }
  const spdlog::sink_ptr& inner() const { return inner_; }

 private:
  spdlog::sink_ptr inner_;
  Redactor redact_;
};
}  // namespace

Redactor::Redactor(std::vector<std::string> secrets) {
  std::vector<std::string> all;
  for (auto& s : secrets) {
    if (s.empty()) continue;
    all.push_back(percent_encoded(s));
    all.push_back(std::move(s));
  }
  // Longest first, so a secret containing another is replaced whole.
  std::sort(all.begin(), all.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  all.erase(std::unique(all.begin(), all.end()), all.end());
  secrets_ = std::make_shared<const std::vector<std::string>>(std::move(all));
}

std::string Redactor::operator()(std::string text) const {
  if (empty()) return text;
  return notify_detail::redact(std::move(text), *secrets_);
}

void install_log_redaction(Redactor redact) {
  auto logger = spdlog::default_logger();
  for (auto& sink : logger->sinks()) {
    if (auto* wrapped = dynamic_cast<RedactingSink*>(sink.get())) sink = wrapped->inner();
    sink = std::make_shared<RedactingSink>(sink, redact);
  }
}

}  // namespace hivehook

namespace hivehook::notify_detail {

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3))
      text.replace(pos, s.size(), "***");
  }
  return text;
}

std::string url_password(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  size_t start = scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t at = authority.rfind('@');
  if (at == std::string::npos) return {};
  size_t colon = authority.find(':');
  if (colon == std::string::npos || colon > at) return {};
  return authority.substr(colon + 1, at - colon - 1);
}

std::string one_line(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return text;
}

}  // namespace hivehook::notify_detail
