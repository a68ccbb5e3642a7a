// Stable text names for the domain's enums. Each enum specializes EnumNames next to its
// declaration; the codec, the command schemas and error messages all read that one table, so a
// name cannot be spelled differently in two places.
#pragma once

#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace tasklog {

// Specialize with: `static constexpr std::string_view schema_type = "priority";` (the name command
// schemas use for it) and `static constexpr std::pair<E, std::string_view> values[] = {{E::x, "x"}, ...};`
template <class E>
struct EnumNames;

template <class E>
concept NamedEnum = std::is_enum_v<E> && requires {
  EnumNames<E>::values;
  EnumNames<E>::schema_type;
};

template <NamedEnum E>
constexpr std::string_view enum_name(E value) {
  for (const auto& [e, name] : EnumNames<E>::values)
    if (e == value) return name;
  return "invalid";  // only reachable through a cast of an out-of-range integer
}

template <NamedEnum E>
constexpr std::optional<E> parse_enum(std::string_view text) {
  for (const auto& [e, name] : EnumNames<E>::values)
    if (name == text) return e;
  return std::nullopt;
}

}  // namespace tasklog
