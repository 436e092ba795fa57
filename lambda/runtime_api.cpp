// Runtime API requests to environment calls and back (see runtime_api.h).
#include "lambda/runtime_api.h"

#include <nlohmann/json.hpp>

#include "lambda/runtime_api_route.h"

namespace hivehook::lambda {
namespace {

http::Response json_response(int status, std::string body) {
  http::Response r;
  r.status = static_cast<http::bhttp::status>(status);
  r.headers.set(http::bhttp::field::content_type, "application/json");
  r.body = std::move(body);
  return r;
}

http::Response error_response(int status, const char* type, const std::string& message) {
  return json_response(status, nlohmann::json{{"errorMessage", message}, {"errorType", type}}.dump(
                                   -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

http::Response reply_of(const ApiReply& r) { return json_response(r.status, r.body); }

// Reads a posted body (at most kMaxRuntimePayload), then calls `use` with it.
template <class Use>
void with_body(std::shared_ptr<http::Exchange> ex, Use use) {
  auto raw = ex.get();
  raw->read_body_to_string(kMaxRuntimePayload, [ex = std::move(ex), use = std::move(use)](
                                                   const http::BodyResult& result, std::string body) mutable {
    if (result.end == http::BodyEnd::too_large)
      return ex->respond(error_response(413, "RequestEntityTooLarge",
                                        "Response payload size exceeded maximum allowed payload size (6291556 bytes)."));
    if (!result.ok()) return ex->respond(error_response(400, "InvalidRequest", result.message));
    use(*ex, std::move(body));
  });
}

}  // namespace

void serve_runtime_api(const std::shared_ptr<ExecutionEnvironment>& env, std::shared_ptr<http::Exchange> ex) {
  if (!env || env->exited())
    return ex->respond(error_response(500, "Runtime.ExitError",
                                      "Container error. Non-recoverable state. Runtime should exit promptly."));
  const std::string method(http::bhttp::to_string(ex->method()));
  const RuntimeApiTarget t = route_runtime_api(method, ex->target());
  switch (t.route) {
    case RuntimeApiRoute::not_found:
      return ex->respond(error_response(404, "NotFound", "no such Runtime API path: " + std::string(ex->target())));
    case RuntimeApiRoute::method_not_allowed:
      return ex->respond(error_response(405, "MethodNotAllowed", method + " is not allowed on this path"));
    case RuntimeApiRoute::next: {
      auto refused = env->next([ex](const NextInvocation& inv) {
        http::Response r = json_response(200, inv.payload);
        r.headers.set("Lambda-Runtime-Aws-Request-Id", inv.request_id);
        r.headers.set("Lambda-Runtime-Deadline-Ms", std::to_string(inv.deadline_ms));
        r.headers.set("Lambda-Runtime-Invoked-Function-Arn", inv.function_arn);
        r.headers.set("Lambda-Runtime-Trace-Id", inv.trace_id);
        ex->respond(std::move(r));
      });
      if (refused) ex->respond(reply_of(*refused));
      return;
    }
    case RuntimeApiRoute::invocation_response:
      return with_body(std::move(ex), [env, id = t.request_id](http::Exchange& e, std::string body) {
        e.respond(reply_of(env->response(id, std::move(body))));
      });
    case RuntimeApiRoute::invocation_error:
      return with_body(std::move(ex), [env, id = t.request_id](http::Exchange& e, std::string body) {
        e.respond(reply_of(env->error(id, body, e.header("Lambda-Runtime-Function-Error-Type"))));
      });
    case RuntimeApiRoute::init_error:
      return with_body(std::move(ex), [env](http::Exchange& e, std::string body) {
        e.respond(reply_of(env->init_error(body, e.header("Lambda-Runtime-Function-Error-Type"))));
      });
  }
}

}  // namespace hivehook::lambda
