#include "store/notify_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>

#include "store/postgres.h"

namespace hivehook {


NotifyListener::NotifyListener(std::string url, std::string node, OnNotify on_notify)
    : url_(std::move(url)), node_(std::move(node)), on_notify_(std::move(on_notify)) {
  thread_ = std::thread([this] { run(); });
}

NotifyListener::~NotifyListener() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void NotifyListener::run() {
  const std::string url = sql::with_application_name(url_, "hivehook " + std::to_string(::getpid()) + " listen " + node_);
  PGconn* conn = nullptr;
  auto drop = [&] {
    if (conn) PQfinish(conn);
    conn = nullptr;
  };
  auto next_try = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (!conn) {
      if (std::chrono::steady_clock::now() < next_try) {
        ::usleep(100 * 1000);
        continue;
      }
      next_try = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      conn = PQconnectdb(url.c_str());
      PGresult* r = conn && PQstatus(conn) == CONNECTION_OK
                        ? PQexec(conn, (std::string("LISTEN ") + kNotifyChannel).c_str())
                        : nullptr;
      const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
      if (r) PQclear(r);
      if (!ok) drop();
      continue;
    }
    pollfd p{PQsocket(conn), POLLIN, 0};
    const int n = ::poll(&p, 1, 200);  // 200 ms: how soon a stop is seen
    if (n < 0) continue;               // EINTR
    if (n == 0) continue;
    if (!PQconsumeInput(conn)) {  // the connection dropped: listen again on a new one
      drop();
      continue;
    }
    while (PGnotify* note = PQnotifies(conn)) {
      ++received_;
      const std::string payload = note->extra ? note->extra : "";
      PQfreemem(note);
      if (on_notify_) on_notify_(payload);
    }
  }
  drop();
}

}  // namespace hivehook
