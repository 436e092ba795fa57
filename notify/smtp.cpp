#include "notify/smtp.h"

#include <cstdlib>
#include <cstring>

#include "base/url_password.h"
#include "notify/curl_easy.h"
#include "notify/mail_message.h"
#include "notify/redact.h"

namespace hivehook::notify_detail {

namespace {

struct Upload {
  std::string_view rest;
};

size_t read_message(char* buf, size_t size, size_t nmemb, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t n = std::min(size * nmemb, up->rest.size());
  std::memcpy(buf, up->rest.data(), n);
  up->rest.remove_prefix(n);
  return n;
}

}  // namespace

std::string smtp_curl_url(const SmtpTarget& target) {
  std::string url = target.url;
  if (target.tls == TlsMode::tls && url.rfind("smtp://", 0) == 0) url = "smtps://" + url.substr(7);
  return url;
}

DeliveryAttempt deliver_smtp(const SmtpTarget& target, Duration timeout, const Notification& n) {
  DeliveryAttempt a;
  std::vector<std::string> secrets{target.password, url_password(target.url)};
  if (target.to.empty()) {
    a.detail = "no recipients";
    a.give_up = true;  // a config that cannot ever deliver
    return a;
  }
  curl_global_once();
  CurlEasy curl;
  if (!curl) {
    a.detail = "curl_easy_init failed";
    return a;
  }
  CurlList rcpt;
  for (const auto& r : target.to) {
    if (!rcpt.append(envelope_address(r))) {
      a.detail = "out of memory building recipients";
      return a;
    }
  }
  std::string message = compose_mail(target, n, std::chrono::system_clock::now());
  Upload upload{message};
  std::string url = smtp_curl_url(target);
  std::string from = envelope_address(target.from);
  char errbuf[CURL_ERROR_SIZE] = {0};

  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_message);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  if (target.tls == TlsMode::starttls) curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (const char* ca = std::getenv(kSmtpCaInfoEnv); ca && *ca) curl_easy_setopt(h, CURLOPT_CAINFO, ca);
  if (!target.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, target.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, target.password.c_str());
  }
  long ms = static_cast<long>(bounded_timeout(timeout).count());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);

  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    a.detail = curl_easy_strerror(rc) + std::string(": ") + why;
    if (a.status) a.detail += " (SMTP " + std::to_string(a.status) + ")";
    a.detail = redact(one_line(a.detail), secrets);
    return a;
  }
  a.delivered = true;
  a.detail = "SMTP " + std::to_string(a.status);
  return a;
}

}  // namespace hivehook::notify_detail
