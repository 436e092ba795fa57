// "HOST:PORT" listen addresses, parsed in one place: the config check, the HTTP listener, the S3
// endpoint and the CLI's client all read them with parse_host_port.
#pragma once

#include <optional>
#include <string>

namespace hivehook {

struct HostPort {
  std::string host;         // "127.0.0.1", "::1", "0.0.0.0", "localhost" (IPv6 without brackets)
  unsigned short port = 0;  // 0: any free port
};

// Parses "127.0.0.1:9464", "[::1]:9464" (an IPv6 literal in brackets, RFC 3986 section 3.2.2),
// "localhost:9464", "0.0.0.0:0". nullopt and *error (a sentence quoting the text) when malformed:
// no port, an IPv6 address without brackets, a port outside 0..65535 or not all digits, an empty
// host, anything after the port.
std::optional<HostPort> parse_host_port(const std::string& text, std::string* error);

// "http://HOST:PORT" for a client on this machine to reach a server listening on `address` and
// bound to `bound_port`: a wildcard host (0.0.0.0, ::) becomes the loopback address of its family;
// an IPv6 host gets brackets (RFC 3986 section 3.2.2).
std::string local_url(const HostPort& address, unsigned short bound_port);

// True for a host only this machine reaches: "localhost", 127.0.0.0/8, "::1" (RFC 6890 loopback).
// A wildcard (0.0.0.0, ::) or any other address is reachable from other machines.
bool is_loopback_host(const std::string& host);

}  // namespace hivehook
