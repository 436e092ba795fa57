#include "app/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <spdlog/spdlog.h>

namespace hivehook {

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket && *socket;
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0) watchdog_usec_ = usec;
}

void SystemdNotifier::attach(Daemon& daemon) {
  if (!enabled_) return;
  if (watchdog_enabled())
    spdlog::info("systemd watchdog: WATCHDOG=1 every second from the event loop (WatchdogSec={}s)",
                 watchdog_usec_ / 1000000.0);
  daemon.hooks.on_status = [this](const std::string& what) { status(what); };
  daemon.hooks.on_ready = [this, &daemon] { ready(daemon.status_line()); };
  daemon.hooks.on_heartbeat = [this, &daemon] {
    watchdog();
    status(daemon.status_line());
  };
  daemon.hooks.on_reloading = [this] { reloading(); };
  daemon.hooks.on_reloaded = [this, &daemon] { ready(daemon.status_line()); };
  daemon.hooks.on_stopping = [this] { stopping(); };
}

void SystemdNotifier::send(const std::string& message) {
  if (!enabled_) return;
  // unset_environment=0: the variables stay for later messages; jobs do not inherit them
  // (jobs/spawn.cpp leaves the service manager's variables out of a job's environment).
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) spdlog::debug("sd_notify failed: {}", std::strerror(-rc));
}

void SystemdNotifier::status(const std::string& text) {
  std::string line = text;
  std::replace(line.begin(), line.end(), '\n', ' ');
  if (line == last_status_) return;
  last_status_ = line;
  send("STATUS=" + line);
}

void SystemdNotifier::ready(const std::string& text) {
  std::string line = text;
  std::replace(line.begin(), line.end(), '\n', ' ');
  last_status_ = line;
  send("READY=1\nSTATUS=" + line);
}

void SystemdNotifier::reloading() {
  last_status_ = "reloading";
  send("RELOADING=1\nSTATUS=reloading the config and the rules");
}

void SystemdNotifier::watchdog() {
  if (watchdog_enabled()) send("WATCHDOG=1");
}

void SystemdNotifier::stopping() {
  last_status_ = "stopping";
  send("STOPPING=1\nSTATUS=stopping: draining running jobs");
}

}  // namespace hivehook
