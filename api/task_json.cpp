#include "api/task_json.hpp"

#include "core/time.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <stdexcept>

namespace tasklog::api {
namespace {

consteval std::size_t col(std::string_view name) {
  for (std::size_t i = 0; i < kTaskColumns.size(); ++i)
    if (kTaskColumns[i].name == name) return i;
  throw std::logic_error("not a task column");  // a compile error: consteval
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

class RowWriter {
 public:
  RowWriter(Writer& w, const pqxx::row& row, pqxx::row::size_type first) : w_(w), row_(row), first_(first) {}

  bool is_null(std::size_t column) const { return field(column).is_null(); }

  // Text columns (and uuids, whose text needs no escaping but goes through the same path).
  void text(std::string_view key, std::size_t column) {
    w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    const auto f = field(column);
    if (f.is_null())
      w_.Null();
    else
      w_.String(f.c_str(), static_cast<rapidjson::SizeType>(f.size()));
  }

  // PostgreSQL's text of a bigint or a float8 (shortest round-trip form) is a JSON number; a
  // jsonb's text is JSON. Both go through as they are.
  void raw(std::string_view key, std::size_t column, rapidjson::Type type) {
    w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    const auto f = field(column);
    if (f.is_null())
      w_.Null();
    else
      w_.RawValue(f.c_str(), f.size(), type);
  }
  void number(std::string_view key, std::size_t column) { raw(key, column, rapidjson::kNumberType); }
  void json(std::string_view key, std::size_t column) { raw(key, column, rapidjson::kObjectType); }

  void boolean(std::string_view key, std::size_t column) {
    w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    const auto f = field(column);
    if (f.is_null())
      w_.Null();
    else
      w_.Bool(f.c_str()[0] == 't');
  }

  void timestamp(std::string_view key, std::size_t column) {
    w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    const auto f = field(column);
    if (f.is_null()) {
      w_.Null();
      return;
    }
    std::int64_t micros = 0;
    const char* end = f.c_str() + f.size();
    if (const auto [p, ec] = std::from_chars(f.c_str(), end, micros); ec != std::errc() || p != end)
      throw std::runtime_error(fmt::format("task column {} is not epoch microseconds: {}", key, f.c_str()));
    const std::string text = format_timestamp(Timestamp(std::chrono::microseconds(micros)));
    w_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  }

 private:
  pqxx::field field(std::size_t column) const { return row_[static_cast<pqxx::row::size_type>(first_ + column)]; }

  Writer& w_;
  const pqxx::row& row_;
  pqxx::row::size_type first_;
};

}  // namespace

const std::string& task_columns_sql() {
  static const std::string sql = [] {
    std::string out;
    for (const auto& c : kTaskColumns) {
      if (!out.empty()) out += ", ";
      if (!c.expression.empty())
        out += fmt::format("{} AS {}", c.expression, c.name);
      else if (c.kind == TaskColumn::Kind::timestamp)
        out += fmt::format("(extract(epoch FROM t.{0}) * 1000000)::bigint AS {0}", c.name);
      else
        out += fmt::format("t.{0} AS {0}", c.name);
    }
    return out;
  }();
  return sql;
}

std::string task_json(const pqxx::row& row, pqxx::row::size_type first) {
  if (row.size() < first + kTaskColumns.size())
    throw std::runtime_error(fmt::format("a task row has {} columns from {}, not {}", row.size() - first, first,
                                         kTaskColumns.size()));
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  RowWriter r(w, row, first);
  w.StartObject();
  r.text("id", col("id"));
  r.text("project_id", col("project_id"));
  r.text("title", col("title"));
  r.text("description", col("description"));
  r.text("type", col("type"));
  r.text("priority", col("priority"));
  r.text("status", col("status"));
  r.number("version", col("version"));
  w.Key("lease");
  // The lease's token stays out: only the holder has it (from its claim or heartbeat).
  if (r.is_null(col("lease_expires_at"))) {
    w.Null();
  } else {
    w.StartObject();
    r.text("agent", col("lease_agent"));
    r.timestamp("acquired_at", col("lease_acquired_at"));
    r.timestamp("expires_at", col("lease_expires_at"));
    r.number("attempt", col("lease_attempt"));
    w.EndObject();
  }
  r.number("attempts", col("attempts"));
  r.timestamp("next_retry_at", col("next_retry_at"));
  r.json("acceptance_criteria", col("acceptance_criteria"));
  r.json("constraints", col("constraints"));
  r.text("parent_task_id", col("parent_task_id"));
  r.number("timebox_seconds", col("timebox_seconds"));
  r.json("dependencies", col("dependencies"));
  r.json("git", col("git"));
  w.Key("usage");
  w.StartObject();
  r.number("tokens", col("usage_tokens"));
  r.number("cost_usd", col("usage_cost_usd"));
  w.EndObject();
  r.json("gate_results", col("gate_results"));
  r.timestamp("gates_evaluated_at", col("gates_evaluated_at"));
  r.json("last_scope_check", col("last_scope_check"));
  r.json("artifacts", col("artifact_refs"));
  r.number("message_count", col("message_count"));
  r.text("completion_summary", col("completion_summary"));
  r.json("result_artifact_ids", col("result_artifact_ids"));
  r.text("failure_reason", col("failure_reason"));
  r.text("block_reason", col("block_reason"));
  r.boolean("needs_human", col("needs_human"));
  r.text("cancel_reason", col("cancel_reason"));
  r.text("created_by", col("created_by"));
  r.timestamp("created_at", col("created_at"));
  r.timestamp("updated_at", col("updated_at"));
  r.timestamp("started_at", col("started_at"));
  r.timestamp("completed_at", col("completed_at"));
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace tasklog::api
