#include "core/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <vector>

namespace tasklog {

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > INT_MAX) return std::nullopt;
  // EVP_DecodeBlock skips surrounding whitespace and accepts '=' inside a block; a header value
  // must be exactly the encoding, so both are refused here first.
  const auto pad = text.find('=');
  if (pad != std::string_view::npos && (text.size() - pad > 2 || text.find_first_not_of('=', pad) != std::string_view::npos))
    return std::nullopt;
  const bool alphabet = std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(std::min(pad, text.size())),
                                    [](char c) {
                                      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                             c == '+' || c == '/';
                                    });
  if (!alphabet) return std::nullopt;
  std::vector<unsigned char> out(text.size() / 4 * 3 + 1);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // The decoded length counts the padding's zero bytes: one per '='.
  const auto padding = pad == std::string_view::npos ? 0 : text.size() - pad;
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n) - padding);
}

}  // namespace tasklog
