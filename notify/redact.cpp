#include "notify/redact.h"

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace hivehook {

namespace {
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
  return Redactor(secrets)(std::move(text));
}

std::string one_line(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return text;
}

}  // namespace hivehook::notify_detail
