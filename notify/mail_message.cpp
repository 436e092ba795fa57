#include "notify/mail_message.h"

#include <openssl/evp.h>

#include <ctime>
#include <set>

#include "base/encoding.h"
#include "base/utf8.h"
#include "notify/redact.h"

namespace hivehook::notify_detail {

namespace {

// Keeps tabs and line ends, drops other control characters (a NUL in a job's error text, say).
std::string body_safe(std::string_view s) {
  std::string out = utf8_sanitize(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f) c = ' ';
  }
  return out;
}

std::string json_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string field(const nlohmann::json& body, const char* name, const char* fallback) {
  if (!body.is_object() || !body.contains(name) || body[name].is_null()) return fallback;
  return json_text(body[name]);
}

std::string outcome(const std::string& event) {
  if (event.find("succeeded") != std::string::npos) return "SUCCEEDED";
  for (const char* bad : {"failed", "dead", "timed_out", "quarantined", "rejected", "interrupted"})
    if (event.find(bad) != std::string::npos) return "FAILED";
  std::string last = event.substr(event.rfind('.') == std::string::npos ? 0 : event.rfind('.') + 1);
  for (char& c : last)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return last.empty() ? "NOTICE" : last;
}

// Every line end as CRLF.
std::string crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 32);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (s[i] == '\n') {
      out += "\r\n";
    } else {
      out += s[i];
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

// A structured header's id-left: dot-atom-text characters only.
std::string atext(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
    out += ok ? c : '-';
  }
  while (!out.empty() && out.front() == '.') out.erase(0, 1);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out.empty() ? "unknown" : out;
}

}  // namespace

std::string mail_subject(const Notification& n) {
  std::string event = field(n.body, "event", n.event.c_str());
  // An expectation's mails (late, arrived, cleared) name its partition, so they share a subject.
  const bool alert = event.rfind("expect.", 0) == 0 && n.body.is_object() && n.body.contains("partition");
  std::string s = "[hivehook] " + outcome(event) + " " + field(n.body, "rule", "-") + ": " +
                  (alert ? field(n.body, "partition", "-") : field(n.body, "key", "-"));
  return one_line(utf8_sanitize(s));
}

std::string encode_header_text(std::string_view text) {
  bool plain = text.size() <= 900 && text.find("=?") == std::string_view::npos;
  for (unsigned char c : text) plain = plain && c >= 0x20 && c < 0x7f;
  if (plain) return std::string(text);
  std::string utf8 = one_line(utf8_sanitize(text));
  std::string_view rest = utf8;
  std::string out;
  // 45 raw bytes -> 60 base64 characters -> a 72-character encoded word (the limit is 75).
  while (!rest.empty()) {
    size_t n = std::min<size_t>(45, rest.size());
    size_t cut = n;
    while (cut > 0 && cut < rest.size() && (static_cast<unsigned char>(rest[cut]) & 0xc0) == 0x80) --cut;
    if (cut == 0) cut = n;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(rest.substr(0, cut)) + "?=";
    rest.remove_prefix(cut);
  }
  return out;
}

std::string rfc5322_date(SystemTime t) {
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
                months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string envelope_address(const std::string& address) {
  std::string a = one_line(address);
  size_t lt = a.rfind('<');
  size_t gt = a.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) a = a.substr(lt + 1, gt - lt - 1);
  while (!a.empty() && a.front() == ' ') a.erase(0, 1);
  while (!a.empty() && a.back() == ' ') a.pop_back();
  return "<" + a + ">";
}

std::string mail_body_text(const Notification& n) {
  std::string out = "hivehook: " + mail_subject(n).substr(11) + "\n\n";
  static const char* order[] = {"event",   "delivery_id", "time",      "rule",  "bucket",     "key",
                                "run_id",  "attempts",    "duration_ms", "exit_code", "error", "reason", "destination"};
  std::set<std::string> done{"result", "stderr_excerpt"};
  auto line = [&](const std::string& name, const nlohmann::json& v) {
    done.insert(name);
    if (v.is_null()) return;
    out += name + ": " + json_text(v) + "\n";
  };
  if (!n.body.is_object()) {
    out += "event: " + n.event + "\n" + "delivery_id: " + n.delivery_id + "\n";
  } else {
    if (!n.body.contains("event")) line("event", n.event);
    if (!n.body.contains("delivery_id")) line("delivery_id", n.delivery_id);
    for (const char* name : order)
      if (n.body.contains(name)) line(name, n.body[name]);
    for (const auto& [name, v] : n.body.items())
      if (!done.count(name)) line(name, v);
    if (n.body.contains("stderr_excerpt") && n.body["stderr_excerpt"].is_string())
      out += "stderr (the end):\n" + n.body["stderr_excerpt"].get<std::string>();
    if (n.body.contains("result") && !n.body["result"].is_null())
      out += "result:\n" + n.body["result"].dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return body_safe(out);
}

std::string quoted_printable(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t end = text.find("\r\n", line_start);
    std::string_view line = text.substr(line_start, end == std::string_view::npos ? std::string_view::npos
                                                                                   : end - line_start);
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      auto c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      std::string tok;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        tok = static_cast<char>(c);
      } else {
        tok = {'=', hex[c >> 4], hex[c & 0xf]};
      }
      if (col + tok.size() > 75) {  // room for the soft break's '='
        out += "=\r\n";
        col = 0;
      }
      out += tok;
      col += tok.size();
    }
    if (end == std::string_view::npos) break;
    out += "\r\n";
    line_start = end + 2;
  }
  return out;
}

std::string compose_mail(const SmtpTarget& target, const Notification& n, SystemTime now) {
  std::string body = crlf(mail_body_text(n));
  bool eight_bit = true;
  for (size_t pos = 0; pos < body.size();) {
    size_t end = body.find("\r\n", pos);
    if (end - pos > 998) eight_bit = false;
    pos = end + 2;
  }
  std::string to;
  size_t col = 4;
  for (const auto& r : target.to) {
    std::string addr = one_line(r);
    if (!to.empty()) {
      to += ",";
      ++col;
      if (col + addr.size() + 1 > 78) {
        to += "\r\n";
        col = 0;
      }
      to += " ";
      ++col;
    }
    to += addr;
    col += addr.size();
  }
  std::string event = one_line(field(n.body, "event", n.event.c_str()));
  std::string m;
  m += "Date: " + rfc5322_date(now) + "\r\n";
  m += "From: " + one_line(target.from) + "\r\n";
  m += "To: " + to + "\r\n";
  m += "Subject: " + encode_header_text(mail_subject(n)) + "\r\n";
  m += "Message-ID: <" + atext(n.delivery_id) + "@hivehook>\r\n";
  // An alert resolved (expect.arrived / expect.cleared) answers the mail that raised it (RFC 5322
  // 3.6.4), so mail clients thread "late" and "arrived" together.
  if (std::string late = field(n.body, "late_delivery_id", ""); !late.empty()) {
    m += "In-Reply-To: <" + atext(late) + "@hivehook>\r\n";
    m += "References: <" + atext(late) + "@hivehook>\r\n";
  }
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += std::string("Content-Transfer-Encoding: ") + (eight_bit ? "8bit" : "quoted-printable") + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no vacation replies to a daemon
  m += "X-Hivehook-Event: " + encode_header_text(utf8_sanitize(event)) + "\r\n";
  m += "X-Hivehook-Delivery: " + encode_header_text(utf8_sanitize(one_line(n.delivery_id))) + "\r\n";
  m += "\r\n";
  m += eight_bit ? body : quoted_printable(body);
  return m;
}

}  // namespace hivehook::notify_detail
