// Dispatch by method and path to handlers (see http/server.h).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.h"

namespace hivehook::http {

// The path part of a request target ("/a/b" of "/a/b?x=1"), still percent-encoded.
std::string_view target_path(std::string_view target);
// The query part ("x=1" of "/a/b?x=1"); "" when there is none.
std::string_view target_query(std::string_view target);

class Router {
 public:
  // Routes requests whose path equals `path`, or starts with it when `path` ends with '/' (a
  // prefix route; "/" matches everything). `method` is "GET", "PUT", ... or "" for any method.
  // The longest matching path wins; among equal paths a method-specific route wins over "".
  // A path that matches only with another method gets 405 with an Allow header; none gets 404.
  void add(std::string method, std::string path, Handler handler);
  // How the 404 and 405 answers are written (the API's JSON {"error"}, say); default text/plain.
  void set_error_response(std::function<Response(bhttp::status, const std::string& message)> make) {
    error_response_ = std::move(make);
  }

  // The router as a Server handler (the Router must outlive the server).
  Handler handler() const;
  void dispatch(const std::shared_ptr<Exchange>& exchange) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    Handler handler;
  };
  std::vector<Route> routes_;
  std::function<Response(bhttp::status, const std::string& message)> error_response_;
};

}  // namespace hivehook::http
