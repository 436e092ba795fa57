// The versions of a key in archive or quarantine. hivehook never overwrites an archived object
// (archive/mover.h): the first arrival of key K is stored at K and each later arrival with other
// content beside it as "K~<object id>" ("K~<object id>-<n>" when that name was taken too); its
// quarantine error sits beside it as "K~<object id>.error.json". An S3 user reads the bucket's key
// K and expects the latest object uploaded under it (S3's "latest version",
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/versioning-workflows.html): these
// functions find it, and ListObjects shows each key once, as its latest version.
//
// "Latest" is the version stored last: the greatest ctime (rename(2) sets it; when the same bytes
// arrive again, a revert, the mover keeps the stored file and brings its ctime forward, and
// nothing else of hivehook changes an archived file), ties broken by the object id in the name.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "landing/beneath.h"

namespace hivehook::s3 {

// The name a stored version stands for: "x.csv~17" and "x.csv~17-2" -> "x.csv",
// "x.csv~17.error.json" -> "x.csv.error.json"; nullopt for a name that is not a suffixed version.
// `id` (optional) receives the object id (17).
std::optional<std::string> version_base(std::string_view name, std::uint64_t* id = nullptr);

// The version id S3 clients see for a stored file name: the object id in it ("17", "17-2"), or
// "null" for the key's own name (S3's id of an object stored without versioning).
std::string version_id(std::string_view name);
// The paths (relative to the tree) version `id` of `key` may be stored at: "t/x.csv" for "null",
// "t/x.csv~17" for "17" (and "t/x~17.error.json" for the key "t/x.error.json"). Empty when `id` is
// not a version id ("null", digits, or digits-digits).
std::vector<std::string> version_paths(const std::string& key, const std::string& id);

// One stored version of a key: its file name in the key's folder and its lstat.
struct Version {
  std::string name;
  struct stat st {};
  std::uint64_t id = 0;  // the object id in the name; 0 for the key's own name
};

// True when `a` was stored after `b` (ctime, then the id in the name).
bool stored_later(const Version& a, const Version& b);

// The regular files in `key`'s folder of `tree` that are versions of `key` (its own name
// included), unsorted; empty when there is none. An unreadable folder is its FsError (ENOENT,
// ENOTDIR when the folder does not exist).
FsResult<std::vector<Version>> versions_of(const Tree& tree, const std::string& key);

// A version opened for reading: its path relative to the tree and the fd.
struct OpenedVersion {
  std::string rel;
  UniqueFd fd;
};

// The latest version of `key` in `tree`, opened. ENOENT when the key has no version (or it is a
// folder); other errors as Tree::open_regular.
FsResult<OpenedVersion> open_latest(const Tree& tree, const std::string& key);

// The version of `key` in `tree` that is the file (dev, ino), opened; nullopt when none is.
std::optional<OpenedVersion> open_identity(const Tree& tree, const std::string& key, dev_t dev, ino_t ino);

}  // namespace hivehook::s3
