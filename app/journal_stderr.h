// Under systemd, what hivehook writes to std::cerr (start-up refusals: a config error, a busy
// port, a state DB it cannot open; the config's warnings) reaches the journal with its priority,
// as the logger's lines do: journald reads a "<N>" at the start of each stderr line as its
// priority (sd-daemon(3); systemd.exec(5) SyslogLevelPrefix=, on by default). Without it those
// lines were stored at the unit's default, info, and `journalctl -p warning` missed why a start
// failed (issue 16, second operator test, N4).
#pragma once

#include <functional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace hivehook {

// A streambuf that forwards whole lines to `dest`, each started with prefix_of(line) ("<3>").
// Lines end at '\n'; a partial line is forwarded (prefixed) at sync/flush, and the rest of it
// follows unprefixed. Not thread-safe (std::cerr's writers are the CLI's and the daemon's
// start-up, on one thread).
class LinePrefixBuf : public std::streambuf {
 public:
  LinePrefixBuf(std::streambuf* dest, std::function<std::string(std::string_view line)> prefix_of)
      : dest_(dest), prefix_of_(std::move(prefix_of)) {}
  ~LinePrefixBuf() override { sync(); }

 protected:
  int_type overflow(int_type ch) override;
  int sync() override;

 private:
  bool emit();  // the pending text, prefixed when it starts a line
  std::streambuf* dest_;
  std::function<std::string(std::string_view)> prefix_of_;
  std::string pending_;
  bool at_line_start_ = true;
};

// The priority of one stderr line: "<4>" (warning) for a diagnostic that says "warning:", else
// "<3>" (err): what hivehook writes to stderr itself is a refusal or an error.
std::string journal_priority_of(std::string_view line);

// When stderr is the journal stream (stderr_is_journal), std::cerr's lines carry their priority
// from here on. Call once, first thing in main.
void prefix_stderr_for_journal();

}  // namespace hivehook
