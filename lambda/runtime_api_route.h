// The paths of the Lambda Runtime API, version 2018-06-01
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): a pure function, fuzzed.
#pragma once

#include <string>
#include <string_view>

namespace hivehook::lambda {

enum class RuntimeApiRoute {
  next,                 // GET  /2018-06-01/runtime/invocation/next
  invocation_response,  // POST /2018-06-01/runtime/invocation/{AwsRequestId}/response
  invocation_error,     // POST /2018-06-01/runtime/invocation/{AwsRequestId}/error
  init_error,           // POST /2018-06-01/runtime/init/error
  not_found,            // any other path (404)
  method_not_allowed,   // a known path with another method (405)
};

struct RuntimeApiTarget {
  RuntimeApiRoute route = RuntimeApiRoute::not_found;
  std::string request_id;  // for invocation_response / invocation_error: the {AwsRequestId} segment,
                           // percent-decoded (a '/' or NUL after decoding is not_found)
};

// Routes one request. `target` is the request-target as sent (a query string is ignored).
RuntimeApiTarget route_runtime_api(std::string_view method, std::string_view target);

}  // namespace hivehook::lambda
