// Byte encodings written in one place: hex (eTags, signatures, request ids), base64 (RFC 4648
// section 4, through OpenSSL's EVP_EncodeBlock) and shell quoting of raw file names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hivehook {

// Two hex digits per byte, lower case ("d41d8cd9...") as S3 eTags and HMAC signatures are written.
std::string hex_lower(const unsigned char* data, std::size_t size);
// The same in upper case (S3's x-amz-request-id style).
std::string hex_upper(const unsigned char* data, std::size_t size);
// The value of one hex digit (0-15, either case), -1 for any other character.
int hex_digit(char c);
// Percent-decoding (RFC 3986 section 2.1): "%2F" -> "/", every other byte kept ('+' stays '+').
// nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s);
// Standard base64 with '=' padding, no line breaks.
std::string base64(std::string_view raw);
// `raw` as one word for bash and other POSIX-like shells that know ANSI-C quoting ($'...', bash(1)
// "QUOTING"): printable ASCII kept, '\'' and '\\' escaped, every other byte as \xHH. Lets a log
// line name a file whose name is not UTF-8 so it can be pasted into a command.
std::string shell_quoted(std::string_view raw);

}  // namespace hivehook
