// Start-up warnings about the folders the daemon moves files between (issue 16 N3): a folder on a
// file system that is read-only for this process (under systemd's ProtectSystem=strict, any path
// outside StateDirectory= and ReadWritePaths=), and an archive or quarantine on another mount than
// landing, where every move is a copy and a delete instead of a rename (rename(2) fails with EXDEV
// across mounts; systemd makes each ReadWritePaths= entry its own bind mount).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rules/config.h"

namespace hivehook {

// The warnings for this config's landing, archive and quarantine, as this process sees them
// (each folder, or its nearest existing parent when not created yet). Empty when all is well.
// Read-only: access(2) W_OK failing with EROFS. Not this user's to write (issue 16 retest P8: a
// root-made folder, EACCES): the folder, its mode and owner, and who this process is. Mounts:
// statx(2) STATX_MNT_ID (Linux 5.8).
std::vector<std::string> folder_access_warnings(const Config& config);

// Makes landing, archive and quarantine when missing (with their parents). nullopt when all three
// are there; else one message for the first that could not be made (issue 16 retest P8: a raw
// "filesystem error: cannot create directories" in a restart loop): the key and folder, the
// error, who this process runs as, and the two fixes — make it for that user, and under systemd
// ReadWritePaths=.
std::optional<std::string> make_folders(const Config& config);

// The folder itself, or its nearest existing parent (archive/ is made at the first move).
std::filesystem::path nearest_existing(const std::filesystem::path& p);

}  // namespace hivehook
