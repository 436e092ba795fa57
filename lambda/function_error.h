// A function error as the Lambda Runtime API carries it: the JSON document a runtime posts to
// /invocation/{id}/error or /init/error ({"errorMessage", "errorType", "stackTrace"}; Node.js
// runtimes send "trace"), per https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hivehook::lambda {

struct FunctionError {
  std::string type;      // errorType ("ValueError", "Runtime.ImportModuleError"); the
                         // Lambda-Runtime-Function-Error-Type header when the body has none
  std::string message;   // errorMessage
  nlohmann::json document;  // the document as stored with the run: always an object with
                            // errorType and errorMessage, plus what the runtime sent
  // "ErrorType: message" (first 1000 bytes of the message), for the run's error text.
  std::string summary() const;
};

// Reads a posted error body. Never throws: a body that is not a JSON object becomes the message
// (valid UTF-8 kept, other bytes replaced), with `header_type` (or "Unhandled") as the type.
FunctionError parse_function_error(std::string_view body, std::string_view header_type);

// The errors hivehook itself reports, in AWS's words:
//   Runtime.ExitError "RequestId: ID Error: Runtime exited with error: exit status 65" / "signal: killed"
//   Sandbox.Timedout  "RequestId: ID Error: Task timed out after 3.00 seconds"
FunctionError exit_error(const std::string& request_id, int exit_code, int term_signal);
FunctionError timeout_error(const std::string& request_id, double seconds);

}  // namespace hivehook::lambda
