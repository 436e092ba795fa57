// Webhook delivery against a real HTTP receiver on 127.0.0.1.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>

#include "unit/notify/helper_process.h"
#include "notify/sender.h"

using namespace hivehook;
using hivehook::test::HelperProcess;
using hivehook::test::TempDir;

namespace {

struct Receiver {
  TempDir dir;
  std::filesystem::path log = dir.path() / "requests.jsonl";
  HelperProcess proc;
  Receiver(const std::string& statuses, double delay = 0, const std::string& body = "")
      : proc(args(statuses, delay, body)) {}
  std::vector<std::string> args(const std::string& statuses, double delay, const std::string& body) const {
    std::vector<std::string> a{"/usr/bin/python3", test::support_script("http_receiver.py"), "--out", log.string(),
                               "--statuses", statuses, "--delay", std::to_string(delay)};
    if (!body.empty()) a.insert(a.end(), {"--body", body});
    return a;
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(proc.port()) + path;
  }
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

NotifyTarget webhook(const std::string& url, const std::string& secret = "") {
  NotifyTarget t;
  t.name = "ops-hook";
  WebhookTarget w;
  w.url = url;
  w.secret = secret;
  t.kind = w;
  t.timeout = std::chrono::seconds(5);
  return t;
}

Notification sample() {
  Notification n;
  n.delivery_id = "d-42";
  n.event = "object.failed";
  n.body = {{"event", "object.failed"},
            {"delivery_id", "d-42"},
            {"time", "2023-03-15T13:45:12.345Z"},
            {"rule", "transactions-etl"},
            {"bucket", "landing"},
            {"key", "transactions/year=2023/month=03/day=15/t.csv"},
            {"run_id", "r-7"},
            {"attempts", 3},
            {"duration_ms", 1234},
            {"exit_code", 1},
            {"error", "exit status 1"},
            {"result", {{"rows", 12}, {"rejects", 0}}},
            {"destination", "quarantine/transactions/year=2023/month=03/day=15/t.csv"}};
  return n;
}

std::string hmac_hex(const std::string& key, const std::string& msg) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac, &len);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", mac[i]);
    hex += b;
  }
  return hex;
}

}  // namespace

TEST(WebhookSignature, MatchesAKnownVector) {
  // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
  EXPECT_EQ(webhook_signature("secret", 1700000000, R"({"a":1})"),
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686");
}

TEST(Webhook, DeliversSignedJsonWithAllHeaders) {
  Receiver rx("200");
  auto target = webhook(rx.url(), "s3cr3t-key");
  std::get<WebhookTarget>(target.kind).headers = {{"X-Team", "data-eng"}, {"X-Hivehook-Event", "forged"}};
  auto n = sample();
  long long before = std::time(nullptr);
  DeliveryAttempt a = deliver(target, n);
  EXPECT_TRUE(a.delivered) << a.detail;
  EXPECT_FALSE(a.give_up);
  EXPECT_EQ(a.status, 200);

  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r["method"], "POST");
  EXPECT_EQ(r["path"], "/hook");
  const auto& h = r["headers"];
  std::string body = r["body"];
  EXPECT_EQ(body, n.body.dump());  // compact JSON, exactly
  EXPECT_EQ(nlohmann::json::parse(body), n.body);
  EXPECT_EQ(h["Content-Type"], "application/json");
  EXPECT_EQ(h["User-Agent"], std::string("hivehook/") + HIVEHOOK_VERSION);
  EXPECT_EQ(h["X-Hivehook-Event"], "object.failed");  // the target cannot forge it
  EXPECT_EQ(h["X-Hivehook-Delivery"], "d-42");
  EXPECT_EQ(h["X-Team"], "data-eng");

  // What a receiver does: recompute the HMAC over "<t>.<body>" and compare.
  std::string sig = h["X-Hivehook-Signature"];
  ASSERT_EQ(sig.rfind("t=", 0), 0u) << sig;
  size_t comma = sig.find(",v1=");
  ASSERT_NE(comma, std::string::npos) << sig;
  std::string t = sig.substr(2, comma - 2);
  EXPECT_GE(std::stoll(t), before);
  EXPECT_LE(std::stoll(t), std::time(nullptr));
  EXPECT_EQ(sig.substr(comma + 4), hmac_hex("s3cr3t-key", t + "." + body));
  EXPECT_EQ(sig.substr(comma + 4).size(), 64u);
}

TEST(Webhook, NoSignatureWithoutSecret) {
  Receiver rx("204");
  DeliveryAttempt a = deliver(webhook(rx.url()), sample());
  EXPECT_TRUE(a.delivered) << a.detail;
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_FALSE(reqs[0]["headers"].contains("X-Hivehook-Signature"));
}

TEST(Webhook, ServerErrorIsRetriedNotGivenUp) {
  Receiver rx("503");
  DeliveryAttempt a = deliver(webhook(rx.url(), "s3cr3t-key"), sample());
  EXPECT_FALSE(a.delivered);
  EXPECT_FALSE(a.give_up);
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.detail, "HTTP 503: status 503");  // the start of the receiver's body
  EXPECT_EQ(a.detail.find("s3cr3t-key"), std::string::npos);
}

TEST(Webhook, DetailIsMaskedWholeAndItsExcerptCutAfterMasking) {
  // The response is kept (up to 4 KiB) and masked before the excerpt is cut (issue 10 retest 3, F3:
  // cut first, a secret across the cut left its first bytes unmasked).
  std::string body = "echo s3cr3t-key " + std::string(1000, 'x');
  Receiver rx("500", 0, body);
  DeliveryAttempt a = deliver(webhook(rx.url(), "s3cr3t-key"), sample());
  EXPECT_FALSE(a.delivered);
  EXPECT_EQ(a.status, 500);
  const std::string masked = "HTTP 500: " + std::string(body).replace(5, 10, "***");
  EXPECT_EQ(a.detail, masked);
  EXPECT_EQ(delivery_detail_excerpt(a.detail), masked.substr(0, kDeliveryDetailBytes) + "...");
}

TEST(Webhook, StatusSequenceRetryThenSuccess) {
  Receiver rx("503,429,200");
  auto target = webhook(rx.url());
  EXPECT_FALSE(deliver(target, sample()).delivered);
  EXPECT_FALSE(deliver(target, sample()).delivered);
  EXPECT_TRUE(deliver(target, sample()).delivered);
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& r : reqs) EXPECT_EQ(r["headers"]["X-Hivehook-Delivery"], "d-42");  // stable id
}

TEST(Webhook, GoneGivesUp) {
  Receiver rx("410");
  DeliveryAttempt a = deliver(webhook(rx.url()), sample());
  EXPECT_FALSE(a.delivered);
  EXPECT_TRUE(a.give_up);
  EXPECT_EQ(a.status, 410);
}

TEST(Webhook, RedirectIsNotFollowed) {
  Receiver rx("302");
  DeliveryAttempt a = deliver(webhook(rx.url()), sample());
  EXPECT_FALSE(a.delivered);
  EXPECT_FALSE(a.give_up);
  EXPECT_EQ(a.status, 302);
  EXPECT_EQ(rx.requests().size(), 1u);
}

TEST(Webhook, ConnectionRefusedIsAClearFailure) {
  std::string url = "http://hookuser:url-pass-9@127.0.0.1:" + std::to_string(test::refused_port()) + "/hook";
  DeliveryAttempt a = deliver(webhook(url, "s3cr3t-key"), sample());
  EXPECT_FALSE(a.delivered);
  EXPECT_FALSE(a.give_up);
  EXPECT_EQ(a.status, 0);
  EXPECT_NE(a.detail.find("Couldn't connect"), std::string::npos) << a.detail;
  EXPECT_EQ(a.detail.find("s3cr3t-key"), std::string::npos) << a.detail;
  EXPECT_EQ(a.detail.find("url-pass-9"), std::string::npos) << a.detail;
}

TEST(Webhook, SlowReceiverTimesOut) {
  Receiver rx("200", 5.0);
  auto target = webhook(rx.url());
  target.timeout = std::chrono::milliseconds(300);
  DeliveryAttempt a = deliver(target, sample());
  EXPECT_FALSE(a.delivered);
  EXPECT_FALSE(a.give_up);
  EXPECT_NE(a.detail.find("Timeout"), std::string::npos) << a.detail;
}

TEST(Webhook, InvalidUtf8InBodyDoesNotThrow) {
  Receiver rx("200");
  auto n = sample();
  n.body["key"] = std::string("bad\xff\xfe") + "key";
  DeliveryAttempt a = deliver(webhook(rx.url()), n);
  EXPECT_TRUE(a.delivered) << a.detail;
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_NE(std::string(reqs[0]["body"]).find("bad\xef\xbf\xbd"), std::string::npos);
}

TEST(Webhook, UnsupportedSchemeIsAFailureNotAThrow) {
  DeliveryAttempt a = deliver(webhook("file:///etc/passwd"), sample());
  EXPECT_FALSE(a.delivered);
  EXPECT_FALSE(a.detail.empty());
}
