// Base64 (RFC 4648, the standard alphabet with padding) through OpenSSL: MCP's 2026-07-28 headers
// carry a value that is not plain ASCII as `=?base64?{value}?=`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tasklog {

// The bytes `text` encodes; nullopt when it is not canonical padded Base64 (a length that is not a
// multiple of 4, a character outside the alphabet, padding anywhere but the end).
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace tasklog
