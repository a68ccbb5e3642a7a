#include "projections/column_values.hpp"

#include "core/json.hpp"
#include "events/database.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace tasklog::projections::columns {
namespace {

[[noreturn]] void bad(std::string_view column, std::string_view expected, std::string_view text) {
  throw BadColumn(fmt::format("column {} holds '{}', not {}", column, text.substr(0, 64), expected));
}

}  // namespace

std::string text_of(bool value) { return value ? "true" : "false"; }
std::string text_of(std::int64_t value) { return std::to_string(value); }
// fmt's default is the shortest text that reads back as the same double; PostgreSQL's float8
// input rounds correctly and its output (extra_float_digits >= 1) is shortest round-trip too.
std::string text_of(double value) { return fmt::format("{}", value); }
std::string text_of(const Uuid& value) { return to_string(value); }
std::string text_of(Timestamp value) { return format_timestamp(value); }

bool bool_from(std::string_view text, std::string_view column) {
  if (text == "t") return true;
  if (text == "f") return false;
  bad(column, "a boolean", text);
}

std::int64_t int_from(std::string_view text, std::string_view column) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) bad(column, "an integer", text);
  return v;
}

double double_from(std::string_view text, std::string_view column) {
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) bad(column, "a number", text);
  return v;
}

Uuid uuid_from(std::string_view text, std::string_view column) {
  const auto id = parse_uuid(text);
  if (!id) bad(column, "a UUID", text);
  return *id;
}

Timestamp timestamp_from_micros(std::string_view text, std::string_view column) {
  return Timestamp(std::chrono::microseconds(int_from(text, column)));
}

void parse_json_column(std::string_view text, rapidjson::Document& doc, std::string_view column) {
  try {
    // Limits guard request input; a stored row was checked when its event was appended.
    parse_json(text, doc, JsonLimits{.max_depth = 256, .max_string_bytes = std::numeric_limits<std::size_t>::max()});
  } catch (const std::exception& e) {
    throw BadColumn(fmt::format("column {}: {}", column, e.what()));
  }
}

std::string select_expression(std::string_view qualified_column, std::string_view column, bool timestamp) {
  if (timestamp) return fmt::format("(extract(epoch FROM {}) * 1000000)::bigint AS {}", qualified_column, column);
  return fmt::format("{} AS {}", qualified_column, column);
}

void append_literal(std::string& sql, pqxx::transaction_base& tx, const SqlText& value) {
  if (!value) {
    sql += "NULL";
    return;
  }
  // esc() + our own quotes rather than quote(): GCC 12 at -O3 raises a false -Wrestrict inside
  // pqxx's inlined quote() (as in events/event_store.cpp).
  sql.push_back('\'');
  sql += tx.esc(*value);
  sql.push_back('\'');
}

void append_literal_list(std::string& sql, pqxx::transaction_base& tx, const std::vector<SqlText>& values) {
  sql.push_back('(');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) sql += ", ";
    append_literal(sql, tx, values[i]);
  }
  sql.push_back(')');
}

void append_execute(std::string& sql, pqxx::transaction_base& tx, const std::string& statement,
                    const std::vector<SqlText>& values) {
  const std::string name = events::cached_statement(tx, statement);
  tx.conn().prepare_now(name);  // a no-op once this connection has it
  sql += "EXECUTE ";
  sql += name;
  if (!values.empty()) append_literal_list(sql, tx, values);
}

std::string id_list(pqxx::transaction_base& tx, const std::vector<Uuid>& ids) {
  if (ids.empty()) return "(NULL)";
  std::vector<SqlText> values;
  values.reserve(ids.size());
  for (const Uuid& id : ids) values.emplace_back(text_of(id));
  std::string out;
  append_literal_list(out, tx, values);
  return out;
}

}  // namespace tasklog::projections::columns
