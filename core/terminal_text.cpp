#include "core/terminal_text.hpp"

#include <fmt/format.h>

namespace tasklog {

std::string for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", c);
    } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[++i]));  // U+0080..U+009F
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string_view first_characters(std::string_view text, std::size_t characters) {
  std::size_t started = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    // A character starts at every byte but a continuation byte (top two bits 1 and 0).
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80 && started++ == characters) return text.substr(0, i);
  }
  return text;
}

}  // namespace tasklog
