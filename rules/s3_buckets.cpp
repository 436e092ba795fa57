// S3 bucket names: S3's naming rules and the three buckets hivehook serves.
#include "rules/s3_buckets.h"

#include <array>

#include "rules/config.h"

namespace hivehook {

namespace {

bool lower_alnum(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); }
bool allowed(char ch) { return lower_alnum(ch) || ch == '.' || ch == '-'; }

std::string quoted_char(char ch) {
  auto u = static_cast<unsigned char>(ch);
  if (u < 0x20 || u >= 0x7f) {
    static const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
  }
  if (ch >= 'A' && ch <= 'Z') return std::string("uppercase '") + ch + "'";
  return std::string("'") + ch + "'";
}

// Four groups of 1 to 3 digits separated by '.': "formatted as an IP address".
bool looks_like_ipv4(std::string_view s) {
  int groups = 0, digits = 0;
  for (char ch : s) {
    if (ch == '.') {
      if (digits == 0) return false;
      ++groups;
      digits = 0;
    } else if (ch >= '0' && ch <= '9') {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return groups == 3 && digits > 0;
}

constexpr std::array<std::string_view, 3> kReservedPrefixes{"xn--", "sthree-", "amzn-s3-demo-"};
constexpr std::array<std::string_view, 5> kReservedSuffixes{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"};

constexpr const char* kRule =
    "S3 bucket names are 3 to 63 lowercase letters, digits, '.' and '-', beginning and "
    "ending with a letter or digit";

}  // namespace

std::optional<std::string> bucket_name_problem(std::string_view name) {
  if (name.size() < 3 || name.size() > 63)
    return "it has " + std::to_string(name.size()) + " character" + (name.size() == 1 ? "" : "s") + " (" + kRule + ")";
  for (char ch : name)
    if (!allowed(ch)) return "it has " + quoted_char(ch) + " (" + kRule + ")";
  if (!lower_alnum(name.front())) return std::string("it begins with '") + name.front() + "' (" + kRule + ")";
  if (!lower_alnum(name.back())) return std::string("it ends with '") + name.back() + "' (" + kRule + ")";
  if (name.find("..") != std::string_view::npos) return "it has two adjacent periods";
  if (looks_like_ipv4(name)) return "it is formatted as an IP address";
  for (auto p : kReservedPrefixes)
    if (name.substr(0, p.size()) == p) return "it begins with '" + std::string(p) + "', a prefix S3 reserves";
  for (auto s : kReservedSuffixes)
    if (name.size() >= s.size() && name.substr(name.size() - s.size()) == s)
      return "it ends with '" + std::string(s) + "', a suffix S3 reserves";
  return std::nullopt;
}

std::string suggested_bucket_name(std::string_view name) {
  std::string out;
  for (char ch : name) {
    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
    if (lower_alnum(ch) || ch == '.') {
      if (ch == '.' && !out.empty() && out.back() == '.') continue;
      out += ch;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  auto trim = [&out] {
    while (!out.empty() && !lower_alnum(out.back())) out.pop_back();
    std::size_t i = 0;
    while (i < out.size() && !lower_alnum(out[i])) ++i;
    out.erase(0, i);
  };
  trim();
  if (out.size() > 63) {
    out.resize(63);
    trim();
  }
  if (out.empty()) out = "bucket";
  if (out.size() < 3) out += "-bucket";
  if (looks_like_ipv4(out)) out = "ip-" + out;
  for (auto p : kReservedPrefixes)
    if (out.substr(0, p.size()) == p) out = "b-" + out;
  for (auto s : kReservedSuffixes)
    if (out.size() >= s.size() && out.substr(out.size() - s.size()) == s) out += "-0";
  if (out.size() > 63) out = out.substr(out.size() - 63);
  return out;
}

std::vector<BucketProblem> s3_bucket_problems(const std::filesystem::path& landing, const std::string& landing_bucket,
                                              const std::filesystem::path& archive,
                                              const std::filesystem::path& quarantine) {
  const bool landing_from_folder = landing_bucket == landing.filename().string();
  struct Named {
    std::string role;  // and its config key
    std::string name;
  };
  const Named buckets[] = {{"landing", landing_bucket},
                           {"archive", archive.filename().string()},
                           {"quarantine", quarantine.filename().string()}};
  std::vector<BucketProblem> out;
  for (const auto& b : buckets) {
    auto why = bucket_name_problem(b.name);
    if (!why) continue;
    const std::string suggestion = suggested_bucket_name(b.name);
    if (b.role != "landing")
      out.push_back({b.role, "the " + b.role + " bucket would be named '" + b.name + "', after the " + b.role +
                                 " folder, which S3 clients cannot address: " + *why +
                                 "; rename the folder (e.g. to '" + suggestion +
                                 "'): the archive and quarantine buckets are named after their folders, "
                                 "`bucket` names only the landing bucket"});
    else if (landing_from_folder)
      out.push_back({"landing", "the landing bucket would be named '" + b.name +
                                    "', after the landing folder, which S3 clients cannot address: " + *why +
                                    "; set `bucket:` to a valid name (e.g. `bucket: " + suggestion + "`)"});
    else
      out.push_back({"bucket", "bucket '" + b.name + "' is not a name S3 clients can address: " + *why +
                                   "; e.g. `bucket: " + suggestion + "`"});
  }
  // Same names (checked even when invalid: each fix needs saying).
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < i; ++j) {
      if (buckets[i].name != buckets[j].name) continue;
      const std::string& a = buckets[j].role;
      const std::string& b = buckets[i].role;
      const std::string both = "the " + a + " and " + b + " buckets would both be named '" + buckets[i].name + "'";
      if (a == "landing")
        out.push_back({landing_from_folder ? "landing" : "bucket",
                       both + ": set `bucket:` to another name for the landing bucket (or rename the " + b +
                           " folder: its bucket is named after it)"});
      else {
        // Suggest the folder whose rename gives it its own default name.
        const bool rename_archive = buckets[i].name == "quarantine";
        const std::filesystem::path& folder = rename_archive ? archive : quarantine;
        const std::string role = rename_archive ? "archive" : "quarantine";
        out.push_back({b, both + " (each is named after its folder's last component): rename the " + a + " or the " +
                              b + " folder (e.g. `" + role + ": " + display_path(folder.parent_path() / role) +
                              "`); `bucket` names only the landing bucket"});
      }
    }
  return out;
}

}  // namespace hivehook
