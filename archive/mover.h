// Moving an object out of landing: archive/<key>, quarantine/<key> (+ .error.json), or delete.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

namespace hivehook {

struct MoveResult {
  bool ok = false;
  std::filesystem::path final_path;  // where the object now is
  std::string error;                 // when !ok
  bool source_missing = false;       // the file was no longer in landing
};

// Moves `source` to `dest_root/key`, creating partition folders. rename(2) on one filesystem;
// across filesystems copy + fsync + rename + unlink. Never overwrites a different earlier object:
// when `dest_root/key` exists with other content, the object goes to "<key>~<suffix>" instead
// (suffix: the given `unique_suffix`, e.g. the object id, appended after the full name, e.g.
// "x.csv~17"; a name that would exceed 255 bytes is shortened before the "~") and final_path says
// so. An identical existing file (same size and content) counts as already moved. Keys are
// checked: absolute keys, "..", "." or empty segments and NUL bytes are refused.
MoveResult move_object(const std::filesystem::path& source, const std::filesystem::path& dest_root,
                       const std::string& key, const std::string& unique_suffix);

// Writes `<dest_root>/<key>.error.json` atomically (temp file + fsync + rename), replacing an
// older one. Pass the key of the object's final_path (relative to dest_root) so the error sits
// beside the object even when it went to "<key>~<suffix>".
bool write_error_json(const std::filesystem::path& dest_root, const std::string& key, const std::string& json,
                      std::string* error);

// Removes a landed object (the "delete" action); a missing file is not an error.
MoveResult delete_object(const std::filesystem::path& source);

}  // namespace hivehook
