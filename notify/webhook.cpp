#include "notify/webhook.h"

#include <algorithm>
#include <ctime>

#include "base/url_password.h"
#include "notify/curl_easy.h"
#include "notify/redact.h"

namespace hivehook::notify_detail {

namespace {

// Response bytes kept for the detail: more than is shown (kDeliveryDetailBytes), so that a secret
// the receiver echoes near the cut is still whole when it is masked (issue 10 retest 3, F3).
constexpr size_t kDetailBody = 4096;

size_t keep_prefix(char* data, size_t size, size_t nmemb, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t n = size * nmemb;
  if (out->size() < kDetailBody) out->append(data, std::min(n, kDetailBody - out->size()));
  return n;  // read (and drop) the rest so the connection ends cleanly
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Headers hivehook sets itself; a target's extra headers cannot replace or forge them.
bool reserved_header(const std::string& name) {
  static const char* reserved[] = {"content-type", "content-length", "transfer-encoding", "host", "expect",
                                   "x-hivehook-event", "x-hivehook-delivery", "x-hivehook-signature"};
  std::string l = lower(name);
  return std::any_of(std::begin(reserved), std::end(reserved), [&](const char* r) { return l == r; });
}

}  // namespace

std::string webhook_body(const Notification& n) {
  return n.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

DeliveryAttempt deliver_webhook(const WebhookTarget& target, Duration timeout, const Notification& n) {
  DeliveryAttempt a;
  std::vector<std::string> secrets{target.secret, url_password(target.url)};
  curl_global_once();
  CurlEasy curl;
  if (!curl) {
    a.detail = "curl_easy_init failed";
    return a;
  }
  std::string body = webhook_body(n);
  CurlList headers;
  bool ok = headers.append("Content-Type: application/json") && headers.append("Expect:") &&
            headers.append("X-Hivehook-Event: " + one_line(n.event)) &&
            headers.append("X-Hivehook-Delivery: " + one_line(n.delivery_id));
  if (!target.secret.empty())
    ok = ok && headers.append("X-Hivehook-Signature: " +
                              webhook_signature(target.secret, static_cast<long long>(std::time(nullptr)), body));
  for (const auto& [name, value] : target.headers) {
    if (reserved_header(name) || name.empty()) continue;
    ok = ok && headers.append(one_line(name) + ": " + one_line(value));
  }
  if (!ok) {
    a.detail = "out of memory building headers";
    return a;
  }

  std::string response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "hivehook/" HIVEHOOK_VERSION);
  long ms = static_cast<long>(bounded_timeout(timeout).count());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_prefix);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    a.detail = redact(one_line(std::string(curl_easy_strerror(rc)) + ": " + why), secrets);
    return a;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
  a.delivered = a.status >= 200 && a.status < 300;
  a.give_up = a.status == 410;  // Gone: the receiver asks us to stop
  a.detail = "HTTP " + std::to_string(a.status);
  std::string snippet = one_line(response);
  while (!snippet.empty() && snippet.back() == ' ') snippet.pop_back();
  if (!a.delivered && !snippet.empty()) a.detail += ": " + snippet;
  a.detail = redact(std::move(a.detail), secrets);
  return a;
}

}  // namespace hivehook::notify_detail
