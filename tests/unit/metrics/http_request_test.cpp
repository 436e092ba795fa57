// The request-head parser the metrics server uses (also fuzzed: tests/fuzz/fuzz_http_request.cpp).
#include <gtest/gtest.h>

#include "metrics/http_request.h"

using namespace hivehook::metrics;

TEST(HttpRequest, ParsesAScrape) {
  auto r = parse_http_request_head(
      "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent:  Prometheus/2.45 \r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.head->method, "GET");
  EXPECT_EQ(r.head->target, "/metrics?x=1");
  EXPECT_EQ(r.head->path, "/metrics");
  EXPECT_EQ(r.head->version_minor, 1);
  EXPECT_EQ(r.head->header("user-agent").value(), "Prometheus/2.45");
}

TEST(HttpRequest, AcceptsBareLfAndHttp10WithoutHost) {
  auto r = parse_http_request_head("GET /healthz HTTP/1.0\n\n");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.head->path, "/healthz");
}

TEST(HttpRequest, AbsoluteFormKeepsThePath) {
  auto r = parse_http_request_head("GET http://h:1/metrics HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.head->path, "/metrics");
}

TEST(HttpRequest, RejectsMalformedHeads) {
  struct Case {
    const char* head;
    int status;
  } cases[] = {
      {"", 400},
      {"GET\r\n\r\n", 400},
      {"GET /metrics\r\n\r\n", 400},
      {"GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /metrics HTTP/1.1\r\n\r\n", 400},                             // no Host
      {"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},       // two Hosts
      {"GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},       // obs-fold
      {"GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", 400},                 // space before colon
      {"GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400},               // bare CR
      {"GET /metrics HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400},              // control char
      {"GET /me trics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"GET /metrics HTTX/1.1\r\nHost: a\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    auto r = parse_http_request_head(c.head);
    EXPECT_FALSE(r.ok()) << c.head;
    EXPECT_EQ(r.status, c.status) << c.head;
    EXPECT_FALSE(r.error.empty());
  }
}

TEST(HttpRequest, LimitsSizeAndFieldCount) {
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(kMaxRequestHead, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse_http_request_head(big).status, 431);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 0; i < kMaxHeaderFields; ++i) many += "X: y\r\n";
  EXPECT_EQ(parse_http_request_head(many + "\r\n").status, 431);
}

TEST(HttpRequest, FindsTheEndOfTheHead) {
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n"), std::string_view::npos);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody"), 27u);
  EXPECT_EQ(find_head_end("GET / HTTP/1.0\n\nbody"), 16u);
}
