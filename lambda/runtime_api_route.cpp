// Routing of Runtime API request targets (see runtime_api_route.h).
#include "lambda/runtime_api_route.h"

#include "base/encoding.h"

namespace hivehook::lambda {
namespace {

constexpr std::string_view kInvocation = "/2018-06-01/runtime/invocation/";
constexpr std::string_view kInitError = "/2018-06-01/runtime/init/error";

// Percent-decoding of one path segment; false when malformed or when it would hide a '/' or NUL.
bool decode_segment(std::string_view in, std::string* out) {
  auto decoded = percent_decode(in);
  if (!decoded || decoded->empty() || decoded->find_first_of(std::string_view("/\0", 2)) != std::string::npos)
    return false;
  *out = std::move(*decoded);
  return true;
}

RuntimeApiTarget with(RuntimeApiRoute route, std::string id = {}) { return {route, std::move(id)}; }

}  // namespace

RuntimeApiTarget route_runtime_api(std::string_view method, std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path == kInitError) return with(method == "POST" ? RuntimeApiRoute::init_error : RuntimeApiRoute::method_not_allowed);
  if (!path.starts_with(kInvocation)) return with(RuntimeApiRoute::not_found);
  std::string_view rest = path.substr(kInvocation.size());
  if (rest == "next") return with(method == "GET" ? RuntimeApiRoute::next : RuntimeApiRoute::method_not_allowed);
  std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return with(RuntimeApiRoute::not_found);
  std::string_view action = rest.substr(slash + 1);
  RuntimeApiRoute route;
  if (action == "response") {
    route = RuntimeApiRoute::invocation_response;
  } else if (action == "error") {
    route = RuntimeApiRoute::invocation_error;
  } else {
    return with(RuntimeApiRoute::not_found);
  }
  std::string id;
  if (!decode_segment(rest.substr(0, slash), &id)) return with(RuntimeApiRoute::not_found);
  if (method != "POST") return with(RuntimeApiRoute::method_not_allowed);
  return with(route, std::move(id));
}

}  // namespace hivehook::lambda
