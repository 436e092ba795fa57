#include "base/host_port.h"

#include <boost/asio/ip/address_v4.hpp>

namespace hivehook {

std::optional<HostPort> parse_host_port(const std::string& text, std::string* error) {
  auto bad = [&](const std::string& why) -> std::optional<HostPort> {
    if (error) *error = "invalid listen address \"" + text + "\": " + why;
    return std::nullopt;
  };
  HostPort hp;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    hp.host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("expected [IPv6]:PORT");
    port = text.substr(close + 2);
    if (hp.host.find(':') == std::string::npos && !hp.host.empty())
      return bad("brackets are for IPv6 addresses only: " + hp.host + ":PORT");
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return bad("expected HOST:PORT");
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets: [::1]:PORT");
  }
  if (hp.host.empty()) return bad("empty host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return bad("the port must be a number 0-65535");
  const unsigned long p = std::stoul(port);
  if (p > 65535) return bad("the port must be a number 0-65535");
  hp.port = static_cast<unsigned short>(p);
  return hp;
}

std::string local_url(const HostPort& address, unsigned short bound_port) {
  std::string host = address.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(bound_port);
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address_v4(host, ec);
  return !ec && a.is_loopback();
}

}  // namespace hivehook
