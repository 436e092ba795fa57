// Objects a client deleted from landing through the S3 API (issue 12 re-test, R10): recorded, so
// `audit --key` says who removed a file and when, and `status` stops counting it as present.
#include <spdlog/spdlog.h>

#include "pipeline/pipeline.h"

namespace hivehook {

namespace {
// States whose file rests in landing after the object ended (nothing of hivehook's will move it).
bool at_rest_in_landing(ObjectState s) {
  return s == ObjectState::unmatched || s == ObjectState::kept || s == ObjectState::failed_kept ||
         s == ObjectState::ignored;
}
}  // namespace

void Pipeline::deleted_by_client(const std::string& key, std::uint64_t inode, nlohmann::json detail) {
  auto last = store_.last_object(key);
  const bool same_file = last && last->inode == inode;
  if (same_file && at_rest_in_landing(last->state)) {
    detail["object"] = last->id;
    detail["was"] = std::string(to_string(last->state));
    transition(*last, ObjectState::deleted, std::move(detail));
    return;
  }
  // Still being processed (it ends `vanished` when its final action finds it gone), or a file no
  // object was recorded for yet (uploaded and deleted before its discovery): the event alone.
  if (same_file) {
    detail["object"] = last->id;
    detail["object_state"] = std::string(to_string(last->state));
  } else {
    detail["recorded"] = false;
  }
  spdlog::info("{}: deleted by a client: {}", safe_dump(nlohmann::json(key)), safe_dump(detail));
  emit("object.deleted", key, std::move(detail));
  batch_.request();
}

}  // namespace hivehook
