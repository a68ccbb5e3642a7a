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

// Writes one column's key and value by its kind (NULL is null).
class ColumnsWriter {
 public:
  ColumnsWriter(Writer& w, const ColumnTexts& values, Timestamps timestamps)
      : w_(w), values_(values), timestamps_(timestamps) {}

  void key(std::string_view key) { w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size())); }

  void column(std::size_t index) {
    const TaskColumn& c = kTaskColumns[index];
    key(c.key.empty() ? c.name : c.key);
    if (!values_[index]) {
      w_.Null();
      return;
    }
    const std::string_view value = *values_[index];
    switch (c.kind) {
      case TaskColumn::Kind::text: string(value); break;
      case TaskColumn::Kind::number: w_.RawValue(value.data(), value.size(), rapidjson::kNumberType); break;
      case TaskColumn::Kind::json: w_.RawValue(value.data(), value.size(), rapidjson::kObjectType); break;
      case TaskColumn::Kind::boolean: w_.Bool(value.starts_with('t')); break;  // PostgreSQL's "t", or "true"
      case TaskColumn::Kind::timestamp: timestamp(c.name, value); break;
    }
  }

 private:
  void string(std::string_view value) { w_.String(value.data(), static_cast<rapidjson::SizeType>(value.size())); }

  void timestamp(std::string_view name, std::string_view value) {
    if (timestamps_ == Timestamps::formatted) return string(value);
    std::int64_t micros = 0;
    const char* end = value.data() + value.size();
    if (const auto [p, ec] = std::from_chars(value.data(), end, micros); ec != std::errc() || p != end)
      throw std::runtime_error(fmt::format("task column {} is not epoch microseconds: {}", name, value));
    string(format_timestamp(Timestamp(std::chrono::microseconds(micros))));
  }

  Writer& w_;
  const ColumnTexts& values_;
  Timestamps timestamps_;
};

// The object, key by key in kTaskColumns' order, opening and closing the nested lease and usage
// objects where their columns begin and end.
std::string render(const ColumnTexts& values, Timestamps timestamps) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  ColumnsWriter r(w, values, timestamps);
  w.StartObject();
  TaskColumn::In open = TaskColumn::In::task;
  bool absent = false;  // the open nested object is null (no lease): its columns are skipped
  for (std::size_t i = 0; i < kTaskColumns.size(); ++i) {
    const TaskColumn::In in = kTaskColumns[i].in;
    if (in != open) {
      if (open != TaskColumn::In::task && !absent) w.EndObject();
      open = in;
      absent = false;
      if (in == TaskColumn::In::lease) {
        r.key("lease");
        absent = !values[col("lease_expires_at")];
      } else if (in == TaskColumn::In::usage) {
        r.key("usage");
      }
      if (absent) w.Null();
      else if (in != TaskColumn::In::task) w.StartObject();
    }
    if (!absent) r.column(i);
  }
  if (open != TaskColumn::In::task && !absent) w.EndObject();
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
