// "Commit before the side effect", in batches: transitions made during one turn of the loop are
// committed together by one flush posted to the loop; side effects registered with after_commit()
// (spawning a job, moving a file) run only once that commit is durable.
#pragma once

#include <boost/asio/io_context.hpp>
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
  // Commit now, mirror the events, run the side effects (which may start a new batch). While the
  // store cannot write (Store::fault()) nothing is committed and no side effect runs: they wait
  // for a later flush that succeeds.
  void flush();
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
  bool scheduled_ = false;
  std::vector<std::function<void()>> effects_;
};

}  // namespace hivehook
