// Daemon logging: spdlog to stderr as text, or one JSON object a line (`log.format: json`).
// Under systemd (stderr is the journal stream named by $JOURNAL_STREAM) each line starts with its
// syslog priority, "<3>" for errors ... "<7>" for debug (sd-daemon(3)), which journald stores as
// the entry's PRIORITY, and the text form leaves the time stamp to journald.
#pragma once

#include "rules/config.h"

namespace hivehook {

void setup_logging(const LogConfig& log);

// Is stderr connected to systemd's journal? $JOURNAL_STREAM ("DEVICE:INODE", systemd.exec(5))
// names the stream systemd connected; it counts only while stderr is still that stream.
bool stderr_is_journal();

}  // namespace hivehook
