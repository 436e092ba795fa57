// "HOST:PORT" listen addresses, parsed in one place (the config check and the servers agree).
#pragma once

#include <optional>
#include <string>

namespace hivehook {

struct HostPort {
  std::string host;  // "127.0.0.1", "::1", "localhost"
  unsigned short port = 0;
};
// "127.0.0.1:9464", "[::1]:9464" (IPv6 in brackets, RFC 3986 section 3.2.2), "localhost:9464";
// port 0..65535. nullopt and *error ("invalid listen address \"x\": why") when malformed.
std::optional<HostPort> parse_host_port(const std::string& text, std::string* error);

}  // namespace hivehook
