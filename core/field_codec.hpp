// Generic JSON reading and writing of field-table types (see fields.hpp) over RapidJSON.
// Included by codec.hpp; the public entry points live there.
//
// Mapping: Uuid -> canonical string, Timestamp -> format_timestamp text, named enums -> their
// name, std::optional -> member omitted when empty (null or missing reads as empty), vectors ->
// arrays, field-table structs -> objects. Unknown members are ignored when reading so that an
// older binary can read a newer payload's known part; command input is closed by its schema.
#pragma once

#include "core/enum_names.hpp"
#include "core/fields.hpp"
#include "core/ids.hpp"
#include "core/time.hpp"

#include <rapidjson/document.h>

#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tasklog::field_codec {

using Allocator = rapidjson::MemoryPoolAllocator<>;

// Throws DomainError(validation_failed) naming the JSON pointer path and what was expected.
[[noreturn]] void fail(const std::string& path, std::string_view expected);

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

template <class T>
void write(const T& value, rapidjson::Value& out, Allocator& allocator) {
  if constexpr (std::same_as<T, bool>) {
    out.SetBool(value);
  } else if constexpr (std::integral<T>) {
    out.SetInt64(static_cast<std::int64_t>(value));
  } else if constexpr (std::floating_point<T>) {
    out.SetDouble(static_cast<double>(value));
  } else if constexpr (std::same_as<T, std::string>) {
    out.SetString(value.data(), static_cast<rapidjson::SizeType>(value.size()), allocator);
  } else if constexpr (std::same_as<T, Uuid>) {
    const std::string text = to_string(value);
    out.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
  } else if constexpr (std::same_as<T, Timestamp>) {
    const std::string text = format_timestamp(value);
    out.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
  } else if constexpr (NamedEnum<T>) {
    const std::string_view name = enum_name(value);
    out.SetString(name.data(), static_cast<rapidjson::SizeType>(name.size()), allocator);
  } else if constexpr (IsVector<T>::value) {
    out.SetArray();
    for (const auto& item : value) {
      rapidjson::Value v;
      write(item, v, allocator);
      out.PushBack(v, allocator);
    }
  } else if constexpr (Reflected<T>) {
    out.SetObject();
    for_each_field<T>([&](const auto& field) {
      const auto& member = value.*(field.member);
      rapidjson::Value v;
      if constexpr (IsOptional<std::decay_t<decltype(member)>>::value) {
        if (!member) return;
        write(*member, v, allocator);
      } else {
        write(member, v, allocator);
      }
      out.AddMember(rapidjson::Value(field.name.data(), static_cast<rapidjson::SizeType>(field.name.size()), allocator),
                    v, allocator);
    });
  } else {
    static_assert(sizeof(T) == 0, "no JSON mapping for this type");
  }
}

template <class T>
void read(const rapidjson::Value& in, T& out, const std::string& path) {
  if constexpr (std::same_as<T, bool>) {
    if (!in.IsBool()) fail(path, "a boolean");
    out = in.GetBool();
  } else if constexpr (std::integral<T>) {
    if (!in.IsInt64()) fail(path, "an integer");
    const std::int64_t v = in.GetInt64();
    if (!std::in_range<T>(v)) fail(path, "an integer in range");
    out = static_cast<T>(v);
  } else if constexpr (std::floating_point<T>) {
    if (!in.IsNumber()) fail(path, "a number");
    out = static_cast<T>(in.GetDouble());
  } else if constexpr (std::same_as<T, std::string>) {
    if (!in.IsString()) fail(path, "a string");
    out.assign(in.GetString(), in.GetStringLength());
  } else if constexpr (std::same_as<T, Uuid>) {
    const auto id = in.IsString() ? parse_uuid({in.GetString(), in.GetStringLength()}) : std::nullopt;
    if (!id) fail(path, "a UUID");
    out = *id;
  } else if constexpr (std::same_as<T, Timestamp>) {
    const auto t = in.IsString() ? parse_timestamp({in.GetString(), in.GetStringLength()}) : std::nullopt;
    if (!t) fail(path, "an RFC 3339 timestamp");
    out = *t;
  } else if constexpr (NamedEnum<T>) {
    const auto e = in.IsString() ? parse_enum<T>({in.GetString(), in.GetStringLength()}) : std::nullopt;
    if (!e) fail(path, std::string("a ") + std::string(EnumNames<T>::schema_type));
    out = *e;
  } else if constexpr (IsOptional<T>::value) {
    if (in.IsNull()) {
      out.reset();
    } else {
      typename T::value_type v{};
      read(in, v, path);
      out = std::move(v);
    }
  } else if constexpr (IsVector<T>::value) {
    if (!in.IsArray()) fail(path, "an array");
    out.clear();
    out.reserve(in.Size());
    for (rapidjson::SizeType i = 0; i < in.Size(); ++i) {
      typename T::value_type v{};
      read(in[i], v, path + "/" + std::to_string(i));
      out.push_back(std::move(v));
    }
  } else if constexpr (Reflected<T>) {
    if (!in.IsObject()) fail(path, "an object");
    for_each_field<T>([&](const auto& field) {
      auto& member = out.*(field.member);
      const std::string member_path = path + "/" + std::string(field.name);
      const auto it = in.FindMember(rapidjson::StringRef(field.name.data(), field.name.size()));
      if (it == in.MemberEnd()) {
        if (field.required && !IsOptional<std::decay_t<decltype(member)>>::value) fail(member_path, "a value (required)");
        return;
      }
      read(it->value, member, member_path);
    });
  } else {
    static_assert(sizeof(T) == 0, "no JSON mapping for this type");
  }
}

}  // namespace tasklog::field_codec
