#include "api/params.h"

#include <set>

#include "base/clock.h"
#include "rules/config.h"

#include <openssl/crypto.h>

#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>

namespace hivehook::api {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int h = hex(text[i + 1]), l = hex(text[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

std::string form_decode(std::string_view text) { return percent_decode(text, true); }

Query parse_query(std::string_view query, std::size_t max_pairs) {
  Query out;
  while (!query.empty() && out.size() < max_pairs) {
    const std::size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    const std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) out.emplace_back(form_decode(piece), "");
    else out.emplace_back(form_decode(piece.substr(0, eq)), form_decode(piece.substr(eq + 1)));
  }
  return out;
}

std::optional<std::string> query_value(const Query& q, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [n, v] : q)
    if (n == name) out = v;
  return out;
}

std::vector<std::string> query_values(const Query& q, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : q)
    if (n == name) out.push_back(v);
  return out;
}

std::optional<int64_t> parse_int(std::string_view text, int64_t min, int64_t max) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  const int64_t s = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  if (s < min || s > max) return std::nullopt;
  return s;
}

std::optional<bool> parse_flag(std::string_view text) {
  if (text.empty() || text == "1" || iequals(text, "true") || iequals(text, "yes")) return true;
  if (text == "0" || iequals(text, "false") || iequals(text, "no")) return false;
  return std::nullopt;
}

std::optional<int64_t> parse_event_id(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return parse_int(text, 0, std::numeric_limits<int64_t>::max());
}

std::optional<std::string> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || !iequals(authorization.substr(0, kScheme.size()), kScheme))
    return std::nullopt;
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  if (rest.empty()) return std::nullopt;
  // token68 (RFC 7235 section 2.1): ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding.
  std::size_t i = 0;
  while (i < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[i])) ||
                             std::string_view("-._~+/").find(rest[i]) != std::string_view::npos))
    ++i;
  while (i < rest.size() && rest[i] == '=') ++i;
  if (i == 0 || i != rest.size()) return std::nullopt;
  return std::string(rest);
}

bool token_matches(std::string_view presented, std::string_view expected) {
  if (expected.empty() || presented.size() != expected.size()) return false;
  return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::optional<std::string> repeated_partition_name(const std::vector<std::pair<std::string, std::string>>& filters) {
  for (std::size_t i = 0; i < filters.size(); ++i)
    for (std::size_t j = i + 1; j < filters.size(); ++j)
      if (filters[i].first == filters[j].first && filters[i].second != filters[j].second)
        return "partition '" + filters[i].first + "' is given twice (" + filters[i].first + "=" + filters[i].second +
               ", " + filters[j].first + "=" + filters[j].second +
               "): a key has one value for each name and every filter must hold, so nothing could match; "
               "replay one value at a time, or a range with from/to";
  return std::nullopt;
}

std::optional<std::pair<std::string, std::string>> parse_partition_filter(std::string_view text, std::string* error) {
  const std::size_t eq = text.find('=');
  auto bad = [&](const char* why) -> std::optional<std::pair<std::string, std::string>> {
    if (error) *error = "partition filter '" + std::string(text) + "' " + why + " (expected NAME=VALUE, e.g. day=15)";
    return std::nullopt;
  };
  if (eq == std::string_view::npos) return bad("has no '='");
  if (eq == 0) return bad("has an empty name");
  std::string_view name = text.substr(0, eq);
  if (name.find('/') != std::string_view::npos) return bad("has a '/' in its name");
  std::string_view value = text.substr(eq + 1);
  if (value.find('/') != std::string_view::npos) return bad("has a '/' in its value");
  return std::make_pair(std::string(name), std::string(value));
}

std::optional<std::string> path_parameter(std::string_view path, std::string_view prefix) {
  if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  if (rest.find('/') != std::string_view::npos) return std::nullopt;
  return percent_decode(rest, false);
}

std::optional<int64_t> parse_since(std::string_view text, SystemTime now) {
  auto t = parse_rfc3339(text);
  if (!t)
    if (auto d = parse_duration(text)) t = now - *d;
  if (!t) return std::nullopt;
  return unix_ms(*t);
}

std::string replay_body(const ReplayRequest& r) {
  nlohmann::json j = {{"dry_run", r.dry_run}};
  if (r.retry) {
    if (!r.schedules.empty()) j["schedules"] = r.schedules;
    else if (r.keys.empty()) j["all_failed"] = true;
    else j["keys"] = r.keys;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (!r.filter.rules.empty()) j["rules"] = r.filter.rules;
  if (r.filter.key_prefix) j["key"] = *r.filter.key_prefix;
  if (r.filter.from) j["from"] = *r.filter.from;
  if (r.filter.to) j["to"] = *r.filter.to;
  if (r.filter.failed_only) j["failed"] = true;
  if (r.filter.all) j["all"] = true;
  if (r.filter.since_ms) j["since"] = format_rfc3339_ms(SystemTime(std::chrono::milliseconds(*r.filter.since_ms)));
  if (!r.filter.partition.empty()) {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& [n, v] : r.filter.partition) parts.push_back(n + "=" + v);
    j["partition"] = parts;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<ReplayRequest> parse_replay_body(std::string_view body, bool retry, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ReplayRequest> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  // A name given twice is refused, as a query parameter given twice is (issue 15 retest X3:
  // {"dry_run": true, "dry_run": false} ran a real replay; the JSON parser keeps the last).
  std::vector<std::set<std::string>> names;  // per object being parsed, the names seen in it
  std::string twice;
  auto j = nlohmann::json::parse(
      body.begin(), body.end(),
      [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        if (event == E::object_start) names.emplace_back();
        else if (event == E::object_end && !names.empty()) names.pop_back();
        else if (event == E::key && !names.empty() && !names.back().insert(parsed.get<std::string>()).second &&
                 twice.empty())
          twice = parsed.get<std::string>();
        return true;
      },
      false);
  if (j.is_discarded() || !j.is_object()) return fail("the body must be a JSON object");
  if (!twice.empty()) return fail("'" + twice + "' is given more than once");
  if (j.contains("rule") && j.contains("rules")) return fail("give 'rule' or 'rules', not both");
  ReplayRequest req;
  req.retry = retry;
  auto string_of = [&](const nlohmann::json& v, const std::string& name, std::string* out) -> bool {
    if (!v.is_string()) {
      fail("'" + name + "' must be a string");
      return false;
    }
    *out = v.get<std::string>();
    return true;
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    std::string s;
    if (name == "dry_run") {
      if (!v.is_boolean()) return fail("'dry_run' must be true or false");
      req.dry_run = v.get<bool>();
    } else if (retry && name == "keys") {
      if (!v.is_array()) return fail("'keys' must be a list of keys");
      for (const auto& k : v) {
        if (!string_of(k, "keys[]", &s)) return std::nullopt;
        req.keys.push_back(s);
      }
    } else if (retry && name == "schedules") {
      if (!v.is_array() || v.empty()) return fail("'schedules' must be a list of one or more schedule rule names");
      for (const auto& r : v) {
        if (!string_of(r, "schedules[]", &s)) return std::nullopt;
        if (s.empty()) return fail("'schedules[]' must not be empty");
        req.schedules.push_back(s);
      }
    } else if (retry && name == "all_failed") {
      if (!v.is_boolean()) return fail("'all_failed' must be true or false");
      req.filter.failed_only = v.get<bool>();
    } else if (!retry && name == "rule") {
      if (!string_of(v, name, &s)) return std::nullopt;
      req.filter.rules.push_back(s);
    } else if (!retry && name == "rules") {
      if (!v.is_array()) return fail("'rules' must be a list of rule names");
      for (const auto& r : v) {
        if (!string_of(r, "rules[]", &s)) return std::nullopt;
        req.filter.rules.push_back(s);
      }
    } else if (!retry && (name == "key" || name == "from" || name == "to")) {
      if (!string_of(v, name, &s)) return std::nullopt;
      (name == "key" ? req.filter.key_prefix : name == "from" ? req.filter.from : req.filter.to) = s;
    } else if (!retry && name == "since") {
      if (!string_of(v, name, &s)) return std::nullopt;
      auto t = parse_since(s);
      if (!t) return fail("'since' must be a time (2023-03-15T13:45:00Z, 2023-03-15) or an age (10m, 7d), not '" + s + "'");
      req.filter.since_ms = *t;
    } else if (!retry && name == "all") {
      if (!v.is_boolean()) return fail("'all' must be true or false");
      req.filter.all = v.get<bool>();
    } else if (!retry && name == "failed") {
      if (!v.is_boolean()) return fail("'failed' must be true or false");
      req.filter.failed_only = v.get<bool>();
    } else if (!retry && name == "partition") {
      std::string why;
      if (v.is_array()) {
        for (const auto& p : v) {
          if (!string_of(p, "partition[]", &s)) return std::nullopt;
          auto nv = parse_partition_filter(s, &why);
          if (!nv) return fail(why);
          req.filter.partition.push_back(*nv);
        }
      } else if (v.is_object()) {
        for (auto p = v.begin(); p != v.end(); ++p) {
          if (!string_of(p.value(), "partition." + p.key(), &s)) return std::nullopt;
          auto nv = parse_partition_filter(p.key() + "=" + s, &why);
          if (!nv) return fail(why);
          req.filter.partition.push_back(*nv);
        }
      } else {
        return fail("'partition' must be a list of NAME=VALUE or a mapping");
      }
    } else {
      return fail("unknown field '" + name + "'");
    }
  }
  if (auto why = repeated_partition_name(req.filter.partition)) return fail(*why);
  if (retry && !req.schedules.empty() && (!req.keys.empty() || req.filter.failed_only))
    return fail("give 'schedules', 'keys' or 'all_failed', not more than one");
  if (retry && req.schedules.empty() && req.keys.empty() && !req.filter.failed_only)
    return fail("give 'keys', 'all_failed': true or 'schedules'");
  if (retry && !req.keys.empty() && req.filter.failed_only) return fail("give 'keys' or 'all_failed', not both");
  if (retry && req.schedules.empty()) req.filter.failed_only = true;  // retry takes quarantined objects only
  if ((req.filter.from && !req.filter.to) || (!req.filter.from && req.filter.to))
    return fail("'from' and 'to' go together");
  return req;
}

}  // namespace hivehook::api
