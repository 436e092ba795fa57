// One invocation of a function: the event in, the ProcessResult-shaped outcome out.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "base/clock.h"
#include "jobs/process_runner.h"

namespace hivehook::lambda {

struct Invocation {
  std::string request_id;            // Lambda-Runtime-Aws-Request-Id (hivehook: the run id)
  std::string payload;               // the event, JSON (the S3 event notification)
  Duration timeout{0};               // the function's timeout; 0: none. Counts from the runtime's
                                     // receipt of the event (the Invoke phase; Lambda-Runtime-Deadline-Ms
                                     // says when it ends); a cold start's init has its own limit, max(10 s, timeout).
  std::filesystem::path result_file; // the response payload (or the error document) is written here; empty: not kept
  // Called once, posted on the pool's io_context. The outcome in the job contract's terms:
  //   response posted      exit_code 0
  //   error posted         exit_code 1, error "ErrorType: message"
  //   init error posted    exit_code 1, error "ErrorType: message" (the environment is stopped)
  //   process exited       exit_code / term_signal of the runtime (Runtime.ExitError), e.g. 65 from sys.exit(65)
  //   timeout              timed_out, the environment's process group killed
  // stdout_tail/stderr_tail hold what the environment printed for this invocation (from the end of
  // the previous one, so a cold start's init output goes with its first invocation).
  std::function<void(ProcessResult)> on_done;
};

}  // namespace hivehook::lambda
