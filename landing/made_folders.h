// Folders the S3 API made in landing for the keys it stored, and their removal once empty (issue
// 12 re-test, R12: every upload left its folder chain in landing, watched for ever — 200 PUTs of
// deep keys made 48,000 folders and 39,000 inotify watches in 8 s).
//
// The rule (docs/s3.md "Folders"): a folder is removed only when (1) the S3 API created it for a
// key it stored (marked with the xattr user.hivehook.made_for_upload as it was made), (2) it is
// empty (rmdir(2) refuses otherwise, atomically), and (3) an object on its path just left landing
// (hivehook moved or deleted it, or a client deleted it through the API). Never landing's root, a
// folder a person or a job made (unmarked), or a folder holding anything (a partition still in
// use). A filesystem without user xattrs marks nothing, so nothing is removed there.
#pragma once

#include <cstddef>
#include <string_view>

#include "landing/beneath.h"

namespace hivehook {

inline constexpr const char* kMadeForUploadXattr = "user.hivehook.made_for_upload";

// Marks the folder open as `dir_fd` (O_PATH is enough) as made by the S3 API. False (errno set)
// when the mark cannot be written (no user xattrs): the folder is then never pruned.
bool mark_made_for_upload(int dir_fd);

// Removes the empty, marked folders on the path of `key` (a file's key in `landing`, the file
// gone), deepest first, stopping at the first folder that is not empty, not marked or not
// removable. Returns how many it removed.
std::size_t prune_made_folders(const Tree& landing, std::string_view key);

}  // namespace hivehook
