#include "s3/auth.h"

#include <ctime>

#include "http/router.h"

namespace hivehook::s3 {

namespace {

namespace bhttp = boost::beast::http;

std::string_view header(const bhttp::fields& h, std::string_view name) {
  auto it = h.find(boost::beast::string_view(name.data(), name.size()));
  if (it == h.end()) return {};
  return {it->value().data(), it->value().size()};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The decoded value of a query parameter (first occurrence), if present.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view part = query.substr(start, end - start);
    start = end + 1;
    const std::size_t eq = part.find('=');
    auto n = percent_decode(part.substr(0, eq));
    if (n && *n == name) return percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
  }
  return std::nullopt;
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

struct Parsed {
  std::string access_key_id;
  Scope scope;
  std::string terminal;
  std::string signed_headers;
  std::string signature;
};

// "AKID/20130524/us-east-1/s3/aws4_request"
bool parse_credential(std::string_view cred, Parsed& p) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = cred.find('/', start);
    parts.push_back(cred.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 5) return false;
  p.access_key_id = std::string(parts[0]);
  p.scope = Scope{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
  p.terminal = std::string(parts[4]);
  return !p.access_key_id.empty();
}

std::string now_text(std::chrono::system_clock::time_point now) { return format_amz_date(now); }

}  // namespace

bool is_streaming(Payload p) {
  return p == Payload::streaming_signed || p == Payload::streaming_signed_trailer ||
         p == Payload::streaming_unsigned_trailer;
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view t) {
  if (t.size() != 16 || t[8] != 'T' || t[15] != 'Z') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14})
    if (t[i] < '0' || t[i] > '9') return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) { return std::stoi(std::string(t.substr(pos, len))); };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::string format_amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::variant<Authorized, S3Error> authenticate(const AuthRequest& req, const Credentials& creds,
                                               std::chrono::system_clock::time_point now) {
  const std::string_view path = http::target_path(req.target);
  const std::string_view query = http::target_query(req.target);
  const std::string_view auth = trim(header(req.headers, "authorization"));
  const bool presigned = auth.empty() && query_param(query, "X-Amz-Algorithm").has_value();

  Parsed p;
  std::string amz_date;
  Authorized ok;
  ok.presigned = presigned;

  if (!auth.empty()) {
    if (auth.substr(0, 4) == "AWS ")
      return errors::invalid_request(
          "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
    constexpr std::string_view kAlgo = "AWS4-HMAC-SHA256";
    if (auth.substr(0, kAlgo.size()) != kAlgo || auth.size() == kAlgo.size() || auth[kAlgo.size()] != ' ')
      return errors::authorization_header_malformed("The authorization header is malformed; the algorithm must be "
                                                    "AWS4-HMAC-SHA256.");
    std::string_view rest = auth.substr(kAlgo.size() + 1);
    bool have_cred = false, have_sh = false, have_sig = false;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const std::size_t eq = item.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string_view name = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
      if (name == "Credential") {
        if (!parse_credential(value, p))
          return errors::authorization_header_malformed(
              "The authorization header is malformed; the Credential is mal-formed; expecting "
              "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
        have_cred = true;
      } else if (name == "SignedHeaders") {
        p.signed_headers = std::string(value);
        have_sh = true;
      } else if (name == "Signature") {
        p.signature = std::string(value);
        have_sig = true;
      }
    }
    if (!have_cred || !have_sh || !have_sig)
      return errors::authorization_header_malformed(
          "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.");
    amz_date = std::string(trim(header(req.headers, "x-amz-date")));
  } else if (presigned) {
    auto algo = query_param(query, "X-Amz-Algorithm");
    auto cred = query_param(query, "X-Amz-Credential");
    auto date = query_param(query, "X-Amz-Date");
    auto expires = query_param(query, "X-Amz-Expires");
    auto sh = query_param(query, "X-Amz-SignedHeaders");
    auto sig = query_param(query, "X-Amz-Signature");
    if (!algo || *algo != "AWS4-HMAC-SHA256")
      return errors::authorization_query_malformed("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    if (!cred || !date || !expires || !sh || !sig)
      return errors::authorization_query_malformed(
          "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
          "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
    if (!parse_credential(*cred, p))
      return errors::authorization_query_malformed("Error parsing the X-Amz-Credential parameter; the Credential is "
                                                   "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
    p.signed_headers = *sh;
    p.signature = *sig;
    amz_date = *date;
    const std::string& e = *expires;
    if (e.empty() || e.size() > 7 || e.find_first_not_of("0123456789") != std::string::npos || std::stol(e) < 1 ||
        std::stol(e) > kMaxPresignSeconds)
      return errors::authorization_query_malformed("X-Amz-Expires must be a number of seconds from 1 to 604800");
    auto t = parse_amz_date(amz_date);
    if (!t) return errors::authorization_query_malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    const auto expiry = *t + std::chrono::seconds(std::stol(e));
    if (now > expiry) return errors::request_expired(format_amz_date(expiry), now_text(now));
    if (*t > now + kMaxClockSkew) return errors::access_denied("Request is not valid yet");
  } else {
    if (query_param(query, "AWSAccessKeyId") && query_param(query, "Signature"))
      return errors::invalid_request(
          "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
    return errors::anonymous();
  }

  if (p.access_key_id != creds.access_key_id) return errors::invalid_access_key_id(p.access_key_id);
  if (p.terminal != "aws4_request" || p.scope.service != "s3" || p.scope.date.size() != 8) {
    std::string msg = "the credential scope must be <date>/<region>/s3/aws4_request";
    return presigned ? errors::authorization_query_malformed(msg) : errors::authorization_header_malformed(msg);
  }
  if (p.scope.region != creds.region) {
    std::string msg = "The authorization header is malformed; the region '" + p.scope.region + "' is wrong; expecting '" +
                      creds.region + "'";
    if (presigned) return errors::authorization_query_malformed(msg).with("Region", creds.region);
    return errors::authorization_header_malformed(msg, creds.region);
  }
  auto t = parse_amz_date(amz_date);
  if (!t) return errors::access_denied("AWS authentication requires a valid Date or x-amz-date header");
  if (amz_date.substr(0, 8) != p.scope.date) {
    std::string msg = "Invalid credential date. Date is not the same as X-Amz-Date.";
    return presigned ? errors::authorization_query_malformed(msg) : errors::authorization_header_malformed(msg);
  }
  if (!presigned && (*t > now + kMaxClockSkew || *t < now - kMaxClockSkew))
    return errors::request_time_too_skewed(amz_date, now_text(now));

  // The payload's protection.
  std::string payload_hash = "UNSIGNED-PAYLOAD";
  if (!presigned) {
    const std::string_view v = trim(header(req.headers, "x-amz-content-sha256"));
    if (v.empty()) return errors::invalid_request("Missing required header for this request: x-amz-content-sha256");
    payload_hash = std::string(v);
    if (v == "UNSIGNED-PAYLOAD") {
      ok.payload = Payload::unsigned_payload;
    } else if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
      ok.payload = Payload::streaming_signed;
    } else if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
      ok.payload = Payload::streaming_signed_trailer;
    } else if (v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
      ok.payload = Payload::streaming_unsigned_trailer;
    } else if (v.substr(0, 10) == "STREAMING-") {
      return errors::not_implemented("x-amz-content-sha256: " + std::string(v));
    } else if (is_hex64(lower(v))) {
      ok.payload = Payload::sha256;
      ok.payload_sha256 = lower(v);
    } else {
      return errors::invalid_argument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                                      "or a valid sha256 value.",
                                      "x-amz-content-sha256", std::string(v));
    }
  } else if (auto q = query_param(query, "X-Amz-Content-Sha256")) {
    payload_hash = *q;
    if (is_hex64(*q)) {
      ok.payload = Payload::sha256;
      ok.payload_sha256 = *q;
    }
  }

  // The canonical request over the signed headers.
  CanonicalRequest cr;
  cr.method = std::string(req.method);
  auto q = canonical_query(query, presigned ? "X-Amz-Signature" : "");
  auto uri = canonical_uri(path);
  if (!q || !uri) return errors::invalid_uri("Couldn't parse the specified URI.");
  cr.query = *q;
  cr.payload_hash = payload_hash;
  bool has_host = false;
  std::string_view sh = p.signed_headers;
  while (!sh.empty()) {
    const std::size_t semi = sh.find(';');
    const std::string name = lower(sh.substr(0, semi));
    sh = semi == std::string_view::npos ? std::string_view() : sh.substr(semi + 1);
    if (name.empty()) continue;
    if (name == "host") has_host = true;
    std::string value;
    bool first = true;
    for (const auto& f : req.headers) {  // every occurrence, in order
      if (!boost::beast::iequals(f.name_string(), name)) continue;
      if (!first) value.push_back(',');
      first = false;
      value += trim_header_value({f.value().data(), f.value().size()});
    }
    cr.headers.emplace_back(name, std::move(value));
  }
  if (!has_host) {
    std::string msg = "the host header must be signed (SignedHeaders must include host)";
    return presigned ? errors::authorization_query_malformed(msg) : errors::authorization_header_malformed(msg);
  }
  for (std::size_t i = 0; i < cr.headers.size(); ++i) cr.signed_headers += (i ? ";" : "") + cr.headers[i].first;

  const std::string key = signing_key(creds.secret_access_key, p.scope);
  const std::string provided = lower(p.signature);
  cr.uri = *uri;
  std::string sts = string_to_sign(amz_date, p.scope, cr.str());
  bool match = constant_time_equal(sign(key, sts), provided);
  if (!match && std::string(path) != cr.uri && !path.empty()) {
    // A client that signed the path exactly as it sent it, with another (valid) choice of escapes.
    CanonicalRequest raw = cr;
    raw.uri = std::string(path);
    const std::string raw_sts = string_to_sign(amz_date, p.scope, raw.str());
    if (constant_time_equal(sign(key, raw_sts), provided)) match = true;
  }
  if (!match)
    return errors::signature_does_not_match()
        .with("AWSAccessKeyId", p.access_key_id)
        .with("StringToSign", sts)
        .with("SignatureProvided", p.signature)
        .with("CanonicalRequest", cr.str());

  ok.signing_key = key;
  ok.scope = p.scope;
  ok.amz_date = amz_date;
  ok.seed_signature = provided;
  return ok;
}

}  // namespace hivehook::s3
