#include "http/router.h"

#include <set>

namespace hivehook::http {

std::string_view target_path(std::string_view target) {
  const std::size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string_view target_query(std::string_view target) {
  const std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

void Router::add(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), std::move(handler)});
}

Handler Router::handler() const {
  return [this](std::shared_ptr<Exchange> ex) { dispatch(ex); };
}

void Router::dispatch(const std::shared_ptr<Exchange>& ex) const {
  const std::string_view path = target_path(ex->target());
  const std::string_view method{ex->request().method_string().data(), ex->request().method_string().size()};
  const Route* best = nullptr;
  std::set<std::string> allowed;
  std::size_t allowed_len = 0;
  for (const Route& r : routes_) {
    const bool prefix = !r.path.empty() && r.path.back() == '/';
    const bool matches = prefix ? path.substr(0, r.path.size()) == r.path : path == r.path;
    if (!matches) continue;
    if (!r.method.empty() && r.method != method) {
      if (r.path.size() > allowed_len) {
        allowed.clear();
        allowed_len = r.path.size();
      }
      if (r.path.size() == allowed_len) allowed.insert(r.method);
      continue;
    }
    if (!best || r.path.size() > best->path.size() ||
        (r.path.size() == best->path.size() && best->method.empty() && !r.method.empty()))
      best = &r;
  }
  if (best && best->path.size() >= allowed_len) {
    best->handler(ex);
    return;
  }
  auto make = [this](bhttp::status status, const std::string& message) {
    if (error_response_) return error_response_(status, message);
    Response res;
    res.status = status;
    res.headers.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res.body = message + "\n";
    return res;
  };
  if (!allowed.empty()) {
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    Response res = make(bhttp::status::method_not_allowed, "method not allowed");
    res.headers.set(bhttp::field::allow, allow);
    ex->respond(std::move(res));
  } else {
    ex->respond(make(bhttp::status::not_found, "not found"));
  }
}

}  // namespace hivehook::http
