// "Commit before the side effect", in batches: transitions made during one turn of the loop are
// committed together by one flush posted to the loop; side effects registered with after_commit()
// (spawning a job, moving a file) run only once that commit is durable, in commit order, at most
// kEffectsPerTurn per loop turn: a burst (an inotify overflow's rescan admits thousands of files)
// never holds the loop — timers, child reaping, inotify, /healthz — for the whole batch.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <vector>

namespace hivehook {

class Store;
class AuditLog;
struct AuditEvent;

class CommitBatch {
 public:
  CommitBatch(boost::asio::io_context& io, Store& store, AuditLog* audit);
  // Ask for a flush at the end of this loop turn (idempotent).
  void request();
  // Run `fn` after the next commit.
  void after_commit(std::function<void()> fn);
  // Side effects run per loop turn at most (about 30 ms of moves and spawns on a loaded machine).
  static constexpr std::size_t kEffectsPerTurn = 32;
  // Commit now, mirror the events, then run the side effects (which may start a new batch):
  // kEffectsPerTurn now and the rest in later loop turns, always after the effects of earlier
  // commits. While the store cannot write (Store::fault()) nothing is committed and no side effect
  // runs: they wait for a later flush that succeeds.
  void flush();
  // flush(), then every side effect still waiting, before returning (shutdown: the loop stops next).
  void flush_all();
  // flush_all() until no side effect is left, those that the side effects themselves asked for
  // included (a job's outcome -> its archive move -> the move's transition): at shutdown, before
  // the daemon's last event. Stops early while the store cannot write; at most `max_rounds` rounds.
  void drain(int max_rounds = 64);
  // Side effects whose commit is durable and that have not run yet.
  std::size_t effects_waiting() const { return ready_.size(); }
  // Called after each commit with the number of events written (metrics, observers).
  std::function<void(std::size_t)> on_committed;
  // The store stopped accepting writes (`why` names the DB and the error) / accepts them again.
  std::function<void(const std::string& why)> on_fault;
  std::function<void()> on_recovered;
  // Called after each commit with the events it wrote, in id order (the API's live event stream).
  std::function<void(const std::vector<AuditEvent>&)> on_events;

 private:
  boost::asio::io_context& io_;
  Store& store_;
  AuditLog* audit_;
  void run_ready();

  bool scheduled_ = false;
  bool continuing_ = false;                   // a run_ready() is posted
  std::vector<std::function<void()>> effects_;  // waiting for the next commit
  std::deque<std::function<void()>> ready_;     // committed, in commit order, not run yet
};

}  // namespace hivehook
