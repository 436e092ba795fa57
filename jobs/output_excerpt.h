// Job output made fit for people: the CLI's `runs --output`, the console and failure notifications
// show a job's stdout/stderr tail with real newlines, bounded, and with secrets masked.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hivehook {

// Masks secrets in job output: every literal in `secrets` (the config's webhook secrets, SMTP
// passwords, the HTTP token...), the value after a credential-like name ("password=…",
// "token: …", "AWS_SECRET_ACCESS_KEY=…", "api_key …"), "Bearer <token>", and a URL's password
// ("scheme://user:PASS@host") become "***".
std::string redact_output(std::string text, const std::vector<std::string>& secrets);

// The readable end of an output tail: at most the last `max_lines` lines and `max_bytes` bytes
// (cut at a line start where possible, "…" marking a cut), CRLF and lone CR (progress bars) turned
// into line ends, other control bytes shown as "\xNN", invalid UTF-8 replaced by U+FFFD, trailing
// blank lines dropped, then redact_output(). A Python traceback stays a traceback.
std::string output_excerpt(std::string_view tail, std::size_t max_lines, std::size_t max_bytes,
                           const std::vector<std::string>& secrets = {});

}  // namespace hivehook
