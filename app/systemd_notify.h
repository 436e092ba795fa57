// Telling systemd how the daemon is doing (sd_notify(3), for a `Type=notify` unit): READY=1 once
// recovery and the start-up scan are done, WATCHDOG=1 from the loop's heartbeat when the unit sets
// WatchdogSec=, RELOADING=1 ... READY=1 around a reload, STOPPING=1, and STATUS= lines that
// `systemctl status` shows. Not under systemd ($NOTIFY_SOCKET unset), every call does nothing.
#pragma once

#include <string>

#include "daemon/daemon.h"

namespace hivehook {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET and, through sd_watchdog_enabled(3), $WATCHDOG_USEC/$WATCHDOG_PID.
  SystemdNotifier();
  bool enabled() const { return enabled_; }
  bool watchdog_enabled() const { return watchdog_usec_ > 0; }

  // Sends the daemon's hooks' messages; `daemon` supplies the STATUS= line once ready.
  void attach(Daemon& daemon);

  void status(const std::string& text);  // STATUS=text (one line); only when it changed
  void ready(const std::string& text);   // READY=1 + STATUS=
  void reloading();                      // RELOADING=1 + STATUS=reloading
  void watchdog();                       // WATCHDOG=1 (when the unit asked for it)
  void stopping();                       // STOPPING=1 + STATUS=stopping

 private:
  void send(const std::string& message);

  bool enabled_ = false;
  uint64_t watchdog_usec_ = 0;
  std::string last_status_;
};

}  // namespace hivehook
