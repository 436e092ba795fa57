#include "app/daemon_http.h"

#include <cstdlib>

#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fstream>

#include "base/host_port.h"
#include "daemon/http_listener.h"

namespace hivehook {

namespace {
namespace beast = boost::beast;
namespace bhttp = beast::http;

// The address the daemon listens on: the one it wrote (also right for port 0), else http.listen.
std::string daemon_address(const Config& config) {
  std::string listen = config.http ? config.http->listen : "";
  if (std::ifstream in(http_address_file(config)); in) {
    std::string url;
    if (std::getline(in, url) && url.rfind("http://", 0) == 0) listen = url.substr(7);
  }
  return listen;
}
}  // namespace

DaemonReply ask_daemon_http(const Config& config, const std::string& method, const std::string& path,
                            const std::string& token, const std::string& body, std::chrono::milliseconds timeout) {
  if (!config.http) return {0, "", "the config has no http listener"};
  const std::string listen = daemon_address(config);
  std::string err;
  auto addr = parse_host_port(listen, &err);
  if (!addr) return {0, "", err};
  if (addr->port == 0) return {0, "", "http.listen has port 0 and the daemon's address file is missing"};
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    const std::string host = addr->host == "0.0.0.0" ? "127.0.0.1" : addr->host == "::" ? "::1" : addr->host;
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(host, std::to_string(addr->port)));
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), path, 11);
    req.set(bhttp::field::host, host);
    if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    return {static_cast<int>(res.result_int()), res.body(), ""};
  } catch (const std::exception& e) {
    return {0, "", "cannot reach the daemon at " + listen + ": " + e.what()};
  }
}

std::vector<uid_t> tcp_listener_uids(unsigned short port) {
  std::vector<uid_t> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
      std::istringstream fields(line);
      std::string sl, local, remote, st, queues, timer, retransmits;
      long uid = -1;
      if (!(fields >> sl >> local >> remote >> st >> queues >> timer >> retransmits >> uid)) continue;
      const auto colon = local.rfind(':');
      if (st != "0A" || colon == std::string::npos) continue;
      if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port && uid >= 0)
        out.push_back(static_cast<uid_t>(uid));
    }
  }
  return out;
}

}  // namespace hivehook
