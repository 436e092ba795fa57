// Asking the running daemon over its HTTP listener (config `http:` / `metrics:`), for the CLI:
// `replay`/`retry` post to /api/v1/, `status` reads /healthz. The address is the one the daemon
// wrote beside its state (daemon/http_listener.h http_address_file; it is right also when the
// config says port 0), else the config's http.listen; a wildcard address is asked on loopback.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

#include "rules/config.h"

namespace hivehook {

// A reply: the HTTP status (0 when the daemon could not be reached or answered nothing, with
// `error` saying why in one sentence) and the body as sent.
struct DaemonReply {
  int status = 0;
  std::string body;
  std::string error;
};

// One HTTP/1.1 request to the daemon: `method` "GET" or "POST", `path` such as "/healthz",
// `token` sent as "Authorization: Bearer <token>" when not empty, `body` as application/json when
// not empty. Gives up after `timeout` (connect, write and read together). Never throws.
DaemonReply ask_daemon_http(const Config& config, const std::string& method, const std::string& path,
                            const std::string& token, const std::string& body, std::chrono::milliseconds timeout);

// The uids of the sockets listening on TCP `port` (IPv4 and IPv6), from /proc/net/tcp and
// /proc/net/tcp6 (proc(5): "st" 0A is LISTEN, "uid" the owner), which every user may read. Empty
// when none listens or the tables cannot be read.
std::vector<uid_t> tcp_listener_uids(unsigned short port);

}  // namespace hivehook
