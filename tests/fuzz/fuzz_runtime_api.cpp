// Fuzzes what a runtime sends the Lambda Runtime API: the request target (method in the first
// byte) and the error documents it posts. Input: "<method byte><target>\n<error body>".
// fuzz-link: hivehook_lambda
#include <cstdint>
#include <string>
#include <string_view>

#include "lambda/function_error.h"
#include "lambda/runtime_api_route.h"
#include "rules/lambda_function.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hivehook;
  using namespace hivehook::lambda;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const char* methods[] = {"GET", "POST", "PUT", "DELETE"};
  std::string_view method = methods[data[0] % 4];
  size_t nl = in.find('\n');
  std::string_view target = in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);

  RuntimeApiTarget t = route_runtime_api(method, target);
  bool has_id = t.route == RuntimeApiRoute::invocation_response || t.route == RuntimeApiRoute::invocation_error;
  if (has_id && (t.request_id.empty() || t.request_id.find('/') != std::string::npos ||
                 t.request_id.find('\0') != std::string::npos))
    __builtin_trap();
  if (!has_id && !t.request_id.empty()) __builtin_trap();

  FunctionError e = parse_function_error(body, target);
  if (e.type.empty() || !e.document.is_object()) __builtin_trap();
  (void)e.document.dump();  // throws (and so crashes) on invalid UTF-8
  (void)e.summary();

  for (auto family : {LambdaRuntimeFamily::python, LambdaRuntimeFamily::nodejs, LambdaRuntimeFamily::provided}) {
    if (!lambda_handler_problem(family, target)) (void)lambda_handler_module_path(family, target);
  }
  (void)lambda_runtime_family(target);
  return 0;
}
