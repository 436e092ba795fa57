// The one way secrets are masked (issue 15, fault 2: there were two — notify's literal redaction
// of what the store writes and the output excerpts' pattern masking — and each outlet had one,
// the other or none). Every outlet masks with a Redactor: what the store writes (audit events and
// so audit.jsonl and the event stream, object errors, run output and results, outbox bodies and
// delivery details), log lines, quarantine's <key>.error.json, the rules shown by /api/v1/rules
// and the console, run output in `runs --output`, /api/v1 and the console, failure notifications.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hivehook {

// Masks, with "***":
//  - every literal secret (the config's webhook secrets and header values, SMTP passwords, the
//    HTTP token, the S3 secret key, the values of every ${VAR} in a notify target, the
//    credential-named variables of rules' job.env and of this process's environment:
//    rules/secrets.h), as written and percent-encoded as a URL carries it; a literal that
//    maskable_secret() refuses is ignored;
//  - the value after a credential-like name ("password=…", "token: …", "AWS_SECRET_ACCESS_KEY=…",
//    "api_key …", `"pw_token": "…"`), stopping at white space, quotes, ',', ';' or '&' (so JSON
//    stays JSON); not after an identifier's name ending in "id" ("access_key_id=AKID…");
//  - "Bearer <token>" (RFC 6750 section 2.1);
//  - the credentials of an "Authorization:" / "Proxy-Authorization:" header, after its scheme
//    ("Authorization: Basic ***");
//  - a URL's password ("scheme://user:PASS@host", RFC 3986 section 3.2.1).
// The patterns run only on text holding one of their trigger words (a cheap scan first), so text
// without any costs a few substring searches. Cheap to copy (shares its secrets); thread-safe.
// Literals shorter than this are never masked: they would shred ordinary text.
inline constexpr std::size_t kMinSecretBytes = 6;
// A value of only lower-case letters a-z up to this long is a plain word ("hivehook", "admin",
// "minio", "changeme"): never masked, since masking it would turn every path and message holding
// the word into "***" (and so give the value away) while guarding nothing anyone could not guess.
inline constexpr std::size_t kMaxPlainWordBytes = 10;

// True when `value` may be masked as a literal secret: at least kMinSecretBytes long and not a
// plain word (above). The rule is docs/console.md "Masked secrets" (issue 12 re-test, R1).
bool maskable_secret(std::string_view value);

class Redactor {
 public:
  Redactor() = default;  // patterns only
  explicit Redactor(std::vector<std::string> secrets);
  std::string operator()(std::string text) const;
  // The literal secrets (without their percent-encoded forms), as given.
  const std::vector<std::string>& secrets() const;

 private:
  std::shared_ptr<const std::vector<std::string>> given_, literals_;
};

}  // namespace hivehook
