#include "core/ids.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <cctype>

namespace tasklog {

std::string to_string(const Uuid& id) { return boost::uuids::to_string(id); }

std::optional<Uuid> parse_uuid(std::string_view text) {
  // boost's string_generator is lenient (braces, missing dashes); the API wants exactly one form.
  if (text.size() != 36) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool dash_slot = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_slot ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  try {
    return boost::uuids::string_generator{}(text.begin(), text.end());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Uuid derived_uuid(std::string_view name) {
  // Fixed namespace for tasklog's derived ids; never change it or derived ids change meaning.
  static const Uuid ns = boost::uuids::string_generator{}("6f1d2c3b-5a49-4e8f-9d0c-7b6a5e4d3c2b");
  return boost::uuids::name_generator_sha1{ns}(name.data(), name.size());
}

}  // namespace tasklog
