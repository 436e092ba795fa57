// Function error documents (see function_error.h).
#include "lambda/function_error.h"

#include <cstdio>
#include <cstring>

#include "base/utf8.h"

namespace hivehook::lambda {
namespace {

constexpr std::size_t kSummaryMessageBytes = 1000;

std::string string_field(const nlohmann::json& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : utf8_sanitize(it->dump());
}

// Go's names for signals, as Lambda's "Runtime exited with error: signal: killed" uses them.
std::string go_signal_name(int sig) {
  switch (sig) {
    case 9: return "killed";
    case 15: return "terminated";
    case 6: return "aborted";
    case 11: return "segmentation fault";
    case 2: return "interrupt";
    case 1: return "hangup";
    case 7: return "bus error";
    case 8: return "floating point exception";
    default: return "signal " + std::to_string(sig);
  }
}

FunctionError make(std::string type, std::string message) {
  FunctionError e;
  e.type = std::move(type);
  e.message = std::move(message);
  e.document = {{"errorType", e.type}, {"errorMessage", e.message}};
  return e;
}

}  // namespace

std::string FunctionError::summary() const {
  std::string m = message.size() > kSummaryMessageBytes ? utf8_sanitize(message.substr(0, kSummaryMessageBytes)) + "..."
                                                        : message;
  if (type.empty()) return m;
  return m.empty() ? type : type + ": " + m;
}

FunctionError parse_function_error(std::string_view body, std::string_view header_type) {
  const std::string fallback_type = header_type.empty() ? "Unhandled" : utf8_sanitize(header_type);
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return make(fallback_type, utf8_sanitize(body));
  FunctionError e;
  e.type = string_field(doc, "errorType");
  if (e.type.empty()) e.type = fallback_type;
  e.message = string_field(doc, "errorMessage");
  doc["errorType"] = e.type;
  doc["errorMessage"] = e.message;
  e.document = std::move(doc);
  return e;
}

FunctionError exit_error(const std::string& request_id, int exit_code, int term_signal) {
  std::string how = term_signal ? "signal: " + go_signal_name(term_signal) : "exit status " + std::to_string(exit_code);
  return make("Runtime.ExitError", "RequestId: " + request_id + " Error: Runtime exited with error: " + how);
}

FunctionError timeout_error(const std::string& request_id, double seconds) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f", seconds);
  return make("Sandbox.Timedout", "RequestId: " + request_id + " Error: Task timed out after " + text + " seconds");
}

}  // namespace hivehook::lambda
