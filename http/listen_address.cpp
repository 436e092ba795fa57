#include "http/listen_address.h"

namespace hivehook::http {

std::optional<ListenAddress> parse_listen_address(const std::string& text, std::string* error) {
  auto bad = [&](const std::string& why) -> std::optional<ListenAddress> {
    if (error) *error = "invalid listen address \"" + text + "\": " + why;
    return std::nullopt;
  };
  ListenAddress a;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    a.host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("expected [IPv6]:PORT");
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return bad("expected HOST:PORT");
    a.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (a.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets: [::1]:PORT");
  }
  if (a.host.empty()) return bad("empty host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return bad("the port must be a number 0-65535");
  const unsigned long p = std::stoul(port);
  if (p > 65535) return bad("the port must be a number 0-65535");
  a.port = static_cast<unsigned short>(p);
  return a;
}

std::string local_url(const ListenAddress& address, unsigned short bound_port) {
  std::string host = address.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(bound_port);
}

}  // namespace hivehook::http
