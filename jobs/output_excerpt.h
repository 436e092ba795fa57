// Job output made fit for people: the CLI's `runs --output`, the console and failure notifications
// show a job's stdout/stderr tail with real newlines, bounded, and with secrets masked.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/redactor.h"

namespace hivehook {

// The readable end of an output tail: at most the last `max_lines` lines and `max_bytes` bytes
// (cut at a line start where possible, "…" marking a cut), CRLF and lone CR (progress bars) turned
// into line ends, other control bytes shown as "\xNN", invalid UTF-8 replaced by U+FFFD, trailing
// blank lines dropped, with secrets masked by `redact` (base/redactor.h; masked before it is cut).
// A Python traceback stays a traceback.
std::string output_excerpt(std::string_view tail, std::size_t max_lines, std::size_t max_bytes,
                           const Redactor& redact = Redactor());

// Why a run failed, on one line: its error ("exited with code 65") and the last line of its stderr
// excerpt (a Python exception, say), e.g. "exited with code 1: ValueError: row 2: amount 'x'"; the
// line is cut at 300 bytes ("…"), masked by `redact`. Either part alone when the other is empty.
std::string failure_reason(std::string_view error, std::string_view stderr_tail, const Redactor& redact);

}  // namespace hivehook
