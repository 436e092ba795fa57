#include "base/redactor.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <string_view>

namespace hivehook {

namespace {
// RFC 3986 percent-encoding of everything but unreserved characters, as a URL would carry it.
std::string percent_encoded(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void replace_all(std::string& text, const std::string& needle) {
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 3))
    text.replace(pos, needle.size(), "***");
}

// Lower-cased words one of the patterns needs; text without any skips the regular expressions.
bool may_hold_pattern(const std::string& text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (std::string_view w : {"passw", "pwd", "secret", "token", "key", "credential", "bearer", "authoriz", "://"})
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

// The value after a credential-like name, unless the name is an identifier's ("access_key_id",
// "AWS_ACCESS_KEY_ID": it names a key, it does not unlock anything).
std::string mask_named_values(const std::string& text) {
  static const std::regex kNamed(
      R"(((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?)([A-Za-z_]*)["']?\s*[:=]\s*["']?)[^\s"',;&*]+)",
      std::regex::icase);
  std::string out;
  auto last = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), kNamed), end; it != end; ++it) {
    const auto& m = *it;
    out.append(last, m[0].first);
    const std::string tail = m[2].str();
    const bool id = tail.size() >= 2 && std::tolower(static_cast<unsigned char>(tail[tail.size() - 2])) == 'i' &&
                    std::tolower(static_cast<unsigned char>(tail.back())) == 'd';
    out += id ? m[0].str() : m[1].str() + "***";
    last = m[0].second;
  }
  out.append(last, text.cend());
  return out;
}

const std::vector<std::string>& no_secrets() {
  static const std::vector<std::string> none;
  return none;
}
}  // namespace

bool maskable_secret(std::string_view value) {
  if (value.size() < kMinSecretBytes) return false;
  const bool plain_word = value.size() <= kMaxPlainWordBytes &&
                          std::all_of(value.begin(), value.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  return !plain_word;
}

Redactor::Redactor(std::vector<std::string> secrets) {
  secrets.erase(std::remove_if(secrets.begin(), secrets.end(), [](const std::string& s) { return !maskable_secret(s); }),
                secrets.end());
  std::vector<std::string> all;
  for (const auto& s : secrets) {
    all.push_back(s);
    all.push_back(percent_encoded(s));
  }
  // Longest first, so a secret containing another is replaced whole.
  std::sort(all.begin(), all.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  all.erase(std::unique(all.begin(), all.end()), all.end());
  given_ = std::make_shared<const std::vector<std::string>>(std::move(secrets));
  literals_ = std::make_shared<const std::vector<std::string>>(std::move(all));
}

const std::vector<std::string>& Redactor::secrets() const { return given_ ? *given_ : no_secrets(); }

std::string Redactor::operator()(std::string text) const {
  if (literals_)
    for (const auto& s : *literals_) replace_all(text, s);
  if (!may_hold_pattern(text)) return text;
  static const std::regex kBearer(R"((\bbearer\s+)[A-Za-z0-9\-._~+/]+=*)", std::regex::icase);
  static const std::regex kUrlPassword(R"((://[^/\s:@"]+:)[^@\s/"]+@)");
  // An Authorization (or Proxy-Authorization) header's credentials, whatever the scheme (RFC 9110
  // section 11.6.2): "Authorization: Basic <base64 of user:password>", as curl sends a URL's
  // userinfo and a receiver echoes it back in a 401 body (issue 10 retest 3, F2).
  static const std::regex kAuthorization(
      R"((\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:basic|bearer|digest|token|negotiate|ntlm)\s+)?)(?!(?:basic|bearer|digest|token|negotiate|ntlm)\b)[^\s"',;*]+)",
      std::regex::icase);
  text = mask_named_values(text);
  text = std::regex_replace(text, kAuthorization, "$1***");
  text = std::regex_replace(text, kBearer, "$1***");
  text = std::regex_replace(text, kUrlPassword, "$1***@");
  return text;
}

}  // namespace hivehook
