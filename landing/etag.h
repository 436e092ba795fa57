// An object's eTag: the hex MD5 of its content, as S3 gives for a single-part upload.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hivehook {

// Streams the file (fixed-size buffer); nullopt when it cannot be read (error in *error).
std::optional<std::string> file_md5_hex(const std::filesystem::path& path, std::string* error = nullptr);

}  // namespace hivehook
