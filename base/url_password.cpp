#include "base/url_password.h"

#include <optional>

#include "base/encoding.h"

#include <algorithm>
#include <cctype>

namespace hivehook {

namespace {
std::string percent_decoded(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}
// The part of `url` after "scheme://" (empty without a scheme), and in it the userinfo before the
// authority's last '@' (RFC 3986 section 3.2.1; nullopt without one).
std::string_view after_scheme(std::string_view url) {
  const auto scheme = url.find("://");
  return scheme == std::string_view::npos ? std::string_view() : url.substr(scheme + 3);
}
std::optional<std::string_view> userinfo_of(std::string_view rest) {
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  return authority.substr(0, at);
}
}  // namespace

std::string url_password(std::string_view url) {
  const std::string_view rest = after_scheme(url);
  if (rest.empty()) return {};
  if (auto userinfo = userinfo_of(rest))
    if (const auto colon = userinfo->find(':'); colon != std::string_view::npos)
      return percent_decoded(userinfo->substr(colon + 1));
  // libpq also takes the password as a query parameter (PostgreSQL docs, "Connection URIs").
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      const std::string_view pair = query.substr(0, query.find('&'));
      if (pair.substr(0, 9) == "password=") return percent_decoded(pair.substr(9));
      query.remove_prefix(std::min(query.size(), pair.size() + 1));
    }
  }
  return {};
}

std::string url_basic_credentials(std::string_view url) {
  auto userinfo = userinfo_of(after_scheme(url));
  if (!userinfo) return {};
  const auto colon = userinfo->find(':');
  if (colon == std::string_view::npos || colon + 1 == userinfo->size()) return {};
  return base64(percent_decoded(userinfo->substr(0, colon)) + ":" + percent_decoded(userinfo->substr(colon + 1)));
}

}  // namespace hivehook
