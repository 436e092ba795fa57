// The /metrics + /healthz server over real loopback sockets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "metrics/http_server.h"
#include "metrics/registry.h"

using namespace hivehook::metrics;

namespace {

// Connects, sends `request`, reads until the server closes (or 5 s pass). "" when connect fails.
std::string exchange(int port, const std::string& request, bool ipv6 = false) {
  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int rc;
  if (ipv6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) {
    close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (431) and close before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
  size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

struct Fixture {
  Registry registry;
  std::atomic<bool> healthy{true};
  std::atomic<bool> degraded{false};
  HttpServer server;
  explicit Fixture(HttpServer::Options o = {})
      : server([this] { return registry.render_prometheus(); },
               [this] {
                 if (!healthy) return std::make_pair(false, std::string("store: database is locked"));
                 return std::make_pair(true, std::string(degraded ? "degraded: rules on disk rejected\nsee status" : ""));
               },
               o) {
    registry.counter("hivehook_test_total", "A test counter.").inc(7);
  }
};

}  // namespace

TEST(HttpServer, ServesMetrics) {
  Fixture f;
  ASSERT_EQ(f.server.start("127.0.0.1:0"), "");
  ASSERT_GT(f.server.port(), 0);
  std::string resp = exchange(f.server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(resp), 200) << resp;
  EXPECT_NE(resp.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos) << resp;
  EXPECT_NE(resp.find("Connection: close\r\n"), std::string::npos);
  std::string body = body_of(resp);
  EXPECT_EQ(body, f.registry.render_prometheus());
  EXPECT_NE(resp.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  EXPECT_NE(body.find("hivehook_test_total 7\n"), std::string::npos);

  std::string head = exchange(f.server.port(), "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(head), 200);
  EXPECT_EQ(body_of(head), "");
}

TEST(HttpServer, HealthzReportsOkAndUnhealthy) {
  Fixture f;
  ASSERT_EQ(f.server.start("127.0.0.1:0"), "");
  std::string ok = exchange(f.server.port(), "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(status_of(ok), 200) << ok;
  EXPECT_EQ(body_of(ok), "ok\n");
  f.healthy = false;
  std::string bad = exchange(f.server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(bad), 503) << bad;
  EXPECT_EQ(body_of(bad), "store: database is locked\n");
}

TEST(HttpServer, HealthzDegradedIsOkWithItsReasonOnOneLine) {
  Fixture f;
  ASSERT_EQ(f.server.start("127.0.0.1:0"), "");
  f.degraded = true;
  std::string resp = exchange(f.server.port(), "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(status_of(resp), 200) << resp;
  EXPECT_EQ(body_of(resp), "degraded: rules on disk rejected see status\n");
}

TEST(HttpServer, NotFoundMethodNotAllowedAndBadRequests) {
  Fixture f;
  ASSERT_EQ(f.server.start("127.0.0.1:0"), "");
  int port = f.server.port();
  EXPECT_EQ(status_of(exchange(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")), 404);
  std::string post = exchange(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(status_of(post), 405) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(status_of(exchange(port, "GET /metrics HTTP/1.1\r\n\r\n")), 400);  // no Host
  EXPECT_EQ(status_of(exchange(port, "garbage\r\n\r\n")), 400);
  EXPECT_EQ(status_of(exchange(port, "GET /metrics HTTP/3.0\r\nHost: x\r\n\r\n")), 505);
}

TEST(HttpServer, OversizeHeadIsRejected) {
  Fixture f;
  ASSERT_EQ(f.server.start("127.0.0.1:0"), "");
  // Never-ending header: the server answers once it has seen more than 8 KiB.
  std::string big = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a');
  std::string resp = exchange(f.server.port(), big);
  EXPECT_EQ(status_of(resp), 431) << resp.substr(0, 200);
  // A complete head just over the limit.
  std::string over = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8200, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_of(exchange(f.server.port(), over)), 431);
}

TEST(HttpServer, SilentClientIsDisconnectedAfterTheReadTimeout) {
  HttpServer::Options o;
  o.read_timeout = std::chrono::milliseconds(200);
  Fixture f(o);
  ASSERT_EQ(f.server.start("127.0.0.1:0"), "");
  // A partial head and then silence: the server closes without an answer.
  std::string resp = exchange(f.server.port(), "GET /metrics HTTP/1.1\r\n");
  EXPECT_EQ(resp, "");
  // The server still serves others afterwards.
  EXPECT_EQ(status_of(exchange(f.server.port(), "GET /healthz HTTP/1.0\r\n\r\n")), 200);
}

TEST(HttpServer, BindFailureIsReportedNotThrown) {
  Fixture a, b;
  ASSERT_EQ(a.server.start("127.0.0.1:0"), "");
  std::string err = b.server.start("127.0.0.1:" + std::to_string(a.server.port()));
  EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
  EXPECT_FALSE(b.server.running());
  EXPECT_NE(b.server.start("127.0.0.1").find("HOST:PORT"), std::string::npos);
  EXPECT_NE(b.server.start("::1:9464").find("brackets"), std::string::npos);
  EXPECT_NE(b.server.start("127.0.0.1:99999").find("port"), std::string::npos);
  EXPECT_FALSE(b.server.start("203.0.113.1:0").empty());  // not an address of this machine
}

TEST(HttpServer, ListensOnIpv6Loopback) {
  Fixture f;
  std::string err = f.server.start("[::1]:0");
  if (!err.empty()) GTEST_SKIP() << "no IPv6 loopback here: " << err;
  EXPECT_EQ(status_of(exchange(f.server.port(), "GET /healthz HTTP/1.1\r\nHost: [::1]\r\n\r\n", true)), 200);
}

TEST(HttpServer, StopClosesOpenConnectionsAndIsIdempotent) {
  Fixture f;
  ASSERT_EQ(f.server.start("127.0.0.1:0"), "");
  int port = f.server.port();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  // Make sure the server has accepted it before stopping.
  ASSERT_EQ(status_of(exchange(port, "GET /healthz HTTP/1.0\r\n\r\n")), 200);
  f.server.stop();
  f.server.stop();
  EXPECT_FALSE(f.server.running());
  char c;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_LE(recv(fd, &c, 1, 0), 0);  // closed by the server, not left hanging
  close(fd);
  EXPECT_EQ(exchange(port, "GET /healthz HTTP/1.0\r\n\r\n"), "");  // no longer listening
  // And it can start again.
  EXPECT_EQ(f.server.start("127.0.0.1:0"), "");
}

TEST(HostPort, Parses) {
  std::string err;
  auto a = parse_host_port("127.0.0.1:9464", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9464);
  auto b = parse_host_port("[::1]:80", &err);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_FALSE(parse_host_port(":80", &err));
  EXPECT_FALSE(parse_host_port("[::1]80", &err));
  EXPECT_FALSE(parse_host_port("host:-1", &err));
}
