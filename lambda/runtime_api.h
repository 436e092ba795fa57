// The Lambda Runtime API's answers for one execution environment, on the shared HTTP server
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): routes, AWS's headers and
// JSON bodies.
#pragma once

#include <cstddef>
#include <memory>

#include "http/exchange.h"
#include "lambda/execution_environment.h"

namespace hivehook::lambda {

// Largest response or error body a runtime may post: Lambda's synchronous payload limit (6 MB);
// larger is 413 RequestEntityTooLarge and the invocation still waits for an answer, as on AWS.
inline constexpr std::size_t kMaxRuntimePayload = 6 * 1024 * 1024;

// Answers one request for `env` (nullptr: the environment is gone, 500). The exchange is answered
// at once, or for GET /next when the environment is given an invocation (never, if the
// environment ends first: the dropped exchange closes the connection).
//   GET  .../invocation/next            200, the event; headers Lambda-Runtime-Aws-Request-Id,
//                                       -Deadline-Ms, -Invoked-Function-Arn, -Trace-Id
//   POST .../invocation/{id}/response   202 {"status":"OK"}; 400 InvalidRequestID; 413
//   POST .../invocation/{id}/error      202; 400 (Lambda-Runtime-Function-Error-Type header optional)
//   POST /2018-06-01/runtime/init/error 202; 403 InvalidStateTransition after init
//   others                              404 / 405, JSON {"errorMessage","errorType"}
void serve_runtime_api(const std::shared_ptr<ExecutionEnvironment>& env, std::shared_ptr<http::Exchange> exchange);

}  // namespace hivehook::lambda
