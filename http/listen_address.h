// "HOST:PORT" listen addresses, as the config writes them.
#pragma once

#include <optional>
#include <string>

namespace hivehook::http {

struct ListenAddress {
  std::string host;         // "127.0.0.1", "::1", "0.0.0.0", "localhost" (no brackets)
  unsigned short port = 0;  // 0: any free port
};

// Parses "127.0.0.1:9000", "[::1]:9000", "localhost:9000", "0.0.0.0:0". nullopt (and *error, a
// sentence quoting the text) when malformed: no port, an IPv6 address without brackets, a port
// outside 0..65535, an empty host.
std::optional<ListenAddress> parse_listen_address(const std::string& text, std::string* error);

// "http://HOST:PORT" for a client on this machine: a wildcard host (0.0.0.0, ::) becomes the
// loopback address of its family; IPv6 hosts get brackets.
std::string local_url(const ListenAddress& address, unsigned short bound_port);

}  // namespace hivehook::http
