// Field tables: each value type that crosses a JSON boundary (events, commands, the rows'
// nested parts) lists its members once, as `static constexpr auto fields()`. The codec, the
// command parser and the schema cross-check test all read that list, so a member cannot be
// written but forgotten when reading back.
#pragma once

#include <string_view>
#include <tuple>

namespace tasklog {

template <class C, class M>
struct Field {
  std::string_view name;
  M C::*member;
  // A required member must be present when decoding; an optional one keeps the struct's default.
  // std::optional members are always optional, whatever this says.
  bool required;
};

template <class C, class M>
constexpr Field<C, M> req(std::string_view name, M C::*member) {
  return {name, member, true};
}

template <class C, class M>
constexpr Field<C, M> opt(std::string_view name, M C::*member) {
  return {name, member, false};
}

template <class T>
concept Reflected = requires { T::fields(); };

// Calls fn(field) for every field of T, in declaration order.
template <Reflected T, class Fn>
constexpr void for_each_field(Fn&& fn) {
  std::apply([&](const auto&... field) { (fn(field), ...); }, T::fields());
}

}  // namespace tasklog
