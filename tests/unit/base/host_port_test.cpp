// base/host_port: the one HOST:PORT parser (config check, HTTP listener, S3 endpoint, CLI client).
#include "base/host_port.h"

#include <gtest/gtest.h>

namespace hivehook {
namespace {

TEST(HostPort, ParsesIPv4NamesAndBracketedIPv6) {
  std::string err;
  auto a = parse_host_port("127.0.0.1:9000", &err);
  ASSERT_TRUE(a) << err;
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9000);
  auto name = parse_host_port("localhost:65535", &err);
  ASSERT_TRUE(name) << err;
  EXPECT_EQ(name->host, "localhost");
  EXPECT_EQ(name->port, 65535);
  auto v6 = parse_host_port("[::1]:0", &err);
  ASSERT_TRUE(v6) << err;
  EXPECT_EQ(v6->host, "::1");  // without its brackets: what a resolver takes
  EXPECT_EQ(v6->port, 0);
  auto any6 = parse_host_port("[fe80::1%eth0]:443", &err);
  ASSERT_TRUE(any6) << err;
  EXPECT_EQ(any6->host, "fe80::1%eth0");
}

TEST(HostPort, RefusesWithTheReasonAndTheText) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"::1:9000", "an IPv6 address needs brackets"}, Case{"[::1]9000", "expected [IPv6]:PORT"},
                        Case{"[::1:9000", "missing ']'"}, Case{"host:99999", "the port must be a number 0-65535"},
                        Case{"host:123456", "the port must be a number 0-65535"}, Case{"host:-1", "0-65535"},
                        Case{"host:80x", "0-65535"}, Case{"host:", "0-65535"}, Case{":80", "empty host"},
                        Case{"[]:80", "empty host"}, Case{"localhost", "expected HOST:PORT"},
                        Case{"", "expected HOST:PORT"}, Case{"[127.0.0.1]:80", "brackets are for IPv6 addresses only"}}) {
    std::string err;
    EXPECT_FALSE(parse_host_port(c.text, &err)) << c.text;
    EXPECT_NE(err.find(c.why), std::string::npos) << c.text << ": " << err;
    EXPECT_NE(err.find("\"" + std::string(c.text) + "\""), std::string::npos) << err;
  }
  EXPECT_FALSE(parse_host_port("x", nullptr));  // no error wanted: none written
}

TEST(HostPort, LocalUrlReachesWildcardsOnLoopbackAndBracketsIPv6) {
  std::string err;
  EXPECT_EQ(local_url(*parse_host_port("0.0.0.0:9000", &err), 9000), "http://127.0.0.1:9000");
  EXPECT_EQ(local_url(*parse_host_port("[::]:0", &err), 4242), "http://[::1]:4242");
  EXPECT_EQ(local_url(*parse_host_port("[::1]:0", &err), 81), "http://[::1]:81");
  EXPECT_EQ(local_url(*parse_host_port("localhost:80", &err), 80), "http://localhost:80");
}

}  // namespace
}  // namespace hivehook
