#include "api/task_json.hpp"

#include "core/time.hpp"
#include "projections/column_values.hpp"
#include "projections/read_model_tables.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <optional>
#include <stdexcept>

namespace tasklog::api {
namespace {

consteval std::size_t col(std::string_view name) {
  for (std::size_t i = 0; i < kTaskColumns.size(); ++i)
    if (kTaskColumns[i].name == name) return i;
  throw std::logic_error("not a task column");  // a compile error: consteval
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A task's column values as text, by kTaskColumns index (nullopt: NULL). Timestamps come as epoch
// microseconds from a select of task_columns_sql and as format_timestamp's text from a TaskState.
using ColumnTexts = std::array<std::optional<std::string_view>, kTaskColumns.size()>;
enum class Timestamps { epoch_micros, formatted };

class ColumnsWriter {
 public:
  ColumnsWriter(Writer& w, const ColumnTexts& values, Timestamps timestamps)
      : w_(w), values_(values), timestamps_(timestamps) {}

  bool is_null(std::size_t column) const { return !values_[column]; }

  // Text columns (and uuids, whose text needs no escaping but goes through the same path).
  void text(std::string_view key, std::size_t column) {
    if (!key_or_null(key, column)) return;
    w_.String(values_[column]->data(), static_cast<rapidjson::SizeType>(values_[column]->size()));
  }

  // PostgreSQL's text of a bigint or a float8 (shortest round-trip form, as fmt writes a double)
  // is a JSON number; a jsonb's text is JSON. Both go through as they are.
  void raw(std::string_view key, std::size_t column, rapidjson::Type type) {
    if (!key_or_null(key, column)) return;
    w_.RawValue(values_[column]->data(), values_[column]->size(), type);
  }
  void number(std::string_view key, std::size_t column) { raw(key, column, rapidjson::kNumberType); }
  void json(std::string_view key, std::size_t column) { raw(key, column, rapidjson::kObjectType); }

  void boolean(std::string_view key, std::size_t column) {
    if (!key_or_null(key, column)) return;
    w_.Bool(values_[column]->starts_with('t'));  // PostgreSQL's "t", or "true"
  }

  void timestamp(std::string_view key, std::size_t column) {
    if (!key_or_null(key, column)) return;
    const std::string_view value = *values_[column];
    if (timestamps_ == Timestamps::formatted) {
      w_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
      return;
    }
    std::int64_t micros = 0;
    const char* end = value.data() + value.size();
    if (const auto [p, ec] = std::from_chars(value.data(), end, micros); ec != std::errc() || p != end)
      throw std::runtime_error(fmt::format("task column {} is not epoch microseconds: {}", key, value));
    const std::string text = format_timestamp(Timestamp(std::chrono::microseconds(micros)));
    w_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  }

 private:
  // Writes the key, and null when the column is NULL; true when the value is still to write.
  bool key_or_null(std::string_view key, std::size_t column) {
    w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    if (values_[column]) return true;
    w_.Null();
    return false;
  }

  Writer& w_;
  const ColumnTexts& values_;
  Timestamps timestamps_;
};

std::string render(const ColumnTexts& values, Timestamps timestamps) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  ColumnsWriter r(w, values, timestamps);
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
  ColumnTexts values;
  for (std::size_t i = 0; i < kTaskColumns.size(); ++i) {
    const pqxx::field f = row[static_cast<pqxx::row::size_type>(first + i)];
    if (!f.is_null()) values[i] = std::string_view(f.c_str(), f.size());
  }
  return render(values, Timestamps::epoch_micros);
}

namespace {
// The values of a TaskState's columns as the inline projector writes them (projections::Table),
// picked out by name for kTaskColumns.
class TaskColumnCapture {
 public:
  static constexpr bool reads = false;
  template <class T>
  void operator()(std::string_view name, const T& value) {
    for (std::size_t i = 0; i < kTaskColumns.size(); ++i)
      if (kTaskColumns[i].name == name) {
        texts[i] = projections::columns::to_sql(value);
        return;
      }
  }
  template <class T>
  void derived(std::string_view name, const T& value, std::string_view) {
    (*this)(name, value);  // the dependencies, as their JSON array
  }
  std::array<projections::columns::SqlText, kTaskColumns.size()> texts;
};
}  // namespace

std::string task_json(const TaskState& task) {
  TaskColumnCapture capture;
  projections::tables::Table<TaskState>::columns(capture, task);
  ColumnTexts values;
  for (std::size_t i = 0; i < kTaskColumns.size(); ++i)
    if (capture.texts[i]) values[i] = *capture.texts[i];
  return render(values, Timestamps::formatted);
}

}  // namespace tasklog::api
