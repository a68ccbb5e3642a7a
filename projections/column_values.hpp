// Column values as PostgreSQL text: how each C++ type of a read-model row goes into a column and
// comes back. Scalars map to scalar columns; vectors and field-table structs to jsonb in the
// codec's JSON form (core/codec.hpp). Timestamps go in as RFC 3339 text and are selected back as
// epoch microseconds (see select_expression), so no DateStyle or TimeZone setting can change what
// a row reads back as. Doubles travel in shortest round-trip form both ways.
#pragma once

#include "core/codec.hpp"
#include "core/enum_names.hpp"
#include "core/fields.hpp"
#include "core/ids.hpp"
#include "core/time.hpp"

#include <pqxx/pqxx>

#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tasklog::projections::columns {

using SqlText = std::optional<std::string>;  // nullopt is NULL

template <class T>
inline constexpr bool is_optional = field_codec::IsOptional<T>::value;

template <class T>
struct Unwrapped {
  using type = T;
};
template <class T>
struct Unwrapped<std::optional<T>> {
  using type = T;
};
template <class T>
using unwrapped_t = typename Unwrapped<T>::type;

// Stored as jsonb: lists and the field-table structs (rules, git info, scope checks…).
template <class T>
concept JsonValued = field_codec::IsVector<T>::value || Reflected<T>;

template <class T>
inline constexpr bool is_timestamp = std::same_as<unwrapped_t<T>, Timestamp>;

template <class T>
inline constexpr bool is_json = JsonValued<unwrapped_t<T>>;

// Thrown when a stored value does not read back as its type: the read model was changed by hand
// or by a different schema version.
class BadColumn : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string text_of(bool value);
std::string text_of(std::int64_t value);
std::string text_of(double value);
std::string text_of(const Uuid& value);
std::string text_of(Timestamp value);

template <class T>
SqlText to_sql(const T& value) {
  if constexpr (is_optional<T>) {
    return value ? to_sql(*value) : SqlText{};
  } else if constexpr (std::same_as<T, bool>) {
    return text_of(value);
  } else if constexpr (std::integral<T>) {
    return text_of(static_cast<std::int64_t>(value));
  } else if constexpr (std::floating_point<T>) {
    return text_of(static_cast<double>(value));
  } else if constexpr (std::same_as<T, std::string>) {
    return value;
  } else if constexpr (std::same_as<T, Uuid> || std::same_as<T, Timestamp>) {
    return text_of(value);
  } else if constexpr (NamedEnum<T>) {
    return std::string(enum_name(value));
  } else if constexpr (JsonValued<T>) {
    return to_json_text(value);
  } else {
    static_assert(sizeof(T) == 0, "no column mapping for this type");
  }
}

// Non-null readers, by the column's (unwrapped) C++ type. `column` names it in errors.
bool bool_from(std::string_view text, std::string_view column);
std::int64_t int_from(std::string_view text, std::string_view column);
double double_from(std::string_view text, std::string_view column);
Uuid uuid_from(std::string_view text, std::string_view column);
Timestamp timestamp_from_micros(std::string_view text, std::string_view column);
void parse_json_column(std::string_view text, rapidjson::Document& doc, std::string_view column);

template <class T>
void from_sql(const pqxx::field& field, T& out, std::string_view column) {
  if constexpr (is_optional<T>) {
    if (field.is_null()) {
      out.reset();
    } else {
      typename T::value_type value{};
      from_sql(field, value, column);
      out = std::move(value);
    }
  } else {
    if (field.is_null()) throw BadColumn(std::string("column ") + std::string(column) + " is NULL");
    const std::string_view text(field.c_str(), field.size());
    if constexpr (std::same_as<T, bool>) {
      out = bool_from(text, column);
    } else if constexpr (std::integral<T>) {
      const std::int64_t v = int_from(text, column);
      if (!std::in_range<T>(v)) throw BadColumn(std::string("column ") + std::string(column) + " is out of range");
      out = static_cast<T>(v);
    } else if constexpr (std::floating_point<T>) {
      out = static_cast<T>(double_from(text, column));
    } else if constexpr (std::same_as<T, std::string>) {
      out.assign(text);
    } else if constexpr (std::same_as<T, Uuid>) {
      out = uuid_from(text, column);
    } else if constexpr (std::same_as<T, Timestamp>) {
      out = timestamp_from_micros(text, column);
    } else if constexpr (NamedEnum<T>) {
      const auto e = parse_enum<T>(text);
      if (!e) throw BadColumn(std::string("column ") + std::string(column) + " holds an unknown name");
      out = *e;
    } else if constexpr (JsonValued<T>) {
      rapidjson::Document doc;
      parse_json_column(text, doc, column);
      try {
        out = from_json_value<T>(doc);
      } catch (const std::exception& e) {
        throw BadColumn(std::string("column ") + std::string(column) + ": " + e.what());
      }
    } else {
      static_assert(sizeof(T) == 0, "no column mapping for this type");
    }
  }
}

// What a SELECT lists for a stored column: timestamps as exact epoch microseconds (PostgreSQL 14+
// extract() is numeric, so nothing is rounded), everything else as is. Named after the column, so
// readers can check the select list against the mapping.
std::string select_expression(std::string_view qualified_column, std::string_view column, bool timestamp);

// '…' literal (esc()) or NULL, for VALUES lists built as text.
void append_literal(std::string& sql, pqxx::transaction_base& tx, const SqlText& value);

// Appends "(v1, v2, …)": the values as append_literal writes them (a VALUES row, an IN list, the
// arguments of an EXECUTE).
void append_literal_list(std::string& sql, pqxx::transaction_base& tx, const std::vector<SqlText>& values);

// Appends "EXECUTE <name>(v1, …)" for `statement` (its values as literals), preparing it on tx's
// connection now if it is not yet (events::cached_statement names it). A prepared statement can
// then ride in a multi-statement round trip: parsed and planned once per connection, yet sent
// together with other statements instead of in a round trip of its own.
void append_execute(std::string& sql, pqxx::transaction_base& tx, const std::string& statement,
                    const std::vector<SqlText>& values);

// "('id1', 'id2', …)" for `column IN …`; never empty ("(NULL)" matches nothing).
std::string id_list(pqxx::transaction_base& tx, const std::vector<Uuid>& ids);

}  // namespace tasklog::projections::columns
