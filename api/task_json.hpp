// A task's JSON as the API returns it (docs/http-api.md, "Task"), written here from the row's
// columns rather than built by PostgreSQL.
//
// Why not json_build_object: the statement that built the object (40 keys, nine to_char calls and
// an aggregate) cost PostgreSQL as much again as everything else of GET /v1/tasks/{id} — pgbench
// on the same row, 32 clients: ~10,000 calls/s with the object built in SQL against ~15,000–19,000
// with the columns selected and the object written here. Every task a response carries (a read, a
// list page, a command's answer) comes from task_json, so the shape has one definition.
//
// The columns are kTaskColumns, in that order (task_json reads them by position): timestamps as
// epoch microseconds (as projections/column_values.hpp selects them, so no DateStyle or TimeZone
// setting changes them), jsonb columns passed through as their text, the dependencies as a JSON
// array. public.tasklog_read_tasks (migrations/0008) returns the same columns in the same order; a
// test holds the two together.
#pragma once

#include "core/task.hpp"

#include <pqxx/pqxx>

#include <array>
#include <string>
#include <string_view>

namespace tasklog::api {

// One column of the task's select and where its value goes in the JSON. The API's keys come in
// the columns' order; a lease's and a usage's columns make up those nested objects (the lease is
// null without one; its token is not a column here: only its holder gets it, from its claim or
// heartbeat).
struct TaskColumn {
  enum class Kind {
    text,       // a JSON string (uuids too)
    number,     // PostgreSQL's text of a bigint or float8 is a JSON number: written as it is
    boolean,
    json,       // a jsonb (or json) column's text: written as it is
    timestamp,  // selected as epoch microseconds, written as format_timestamp's text
  };
  enum class In { task, lease, usage };  // the object the key belongs to
  std::string_view name;
  Kind kind = Kind::text;
  std::string_view key{};         // the JSON key; empty: name
  In in = In::task;
  std::string_view expression{};  // over the tasks row aliased t; empty: t.<name>
};

inline constexpr auto kTaskColumns = [] {
  using K = TaskColumn::Kind;
  using In = TaskColumn::In;
  return std::array{
      TaskColumn{.name = "id", .kind = K::text},
      TaskColumn{.name = "project_id", .kind = K::text},
      TaskColumn{.name = "title", .kind = K::text},
      TaskColumn{.name = "description", .kind = K::text},
      TaskColumn{.name = "type", .kind = K::text},
      TaskColumn{.name = "priority", .kind = K::text},
      TaskColumn{.name = "status", .kind = K::text},
      TaskColumn{.name = "version", .kind = K::number},
      TaskColumn{.name = "lease_agent", .kind = K::text, .key = "agent", .in = In::lease},
      TaskColumn{.name = "lease_acquired_at", .kind = K::timestamp, .key = "acquired_at", .in = In::lease},
      TaskColumn{.name = "lease_expires_at", .kind = K::timestamp, .key = "expires_at", .in = In::lease},
      TaskColumn{.name = "lease_attempt", .kind = K::number, .key = "attempt", .in = In::lease},
      TaskColumn{.name = "attempts", .kind = K::number},
      TaskColumn{.name = "next_retry_at", .kind = K::timestamp},
      TaskColumn{.name = "acceptance_criteria", .kind = K::json},
      TaskColumn{.name = "constraints", .kind = K::json},
      TaskColumn{.name = "parent_task_id", .kind = K::text},
      TaskColumn{.name = "timebox_seconds", .kind = K::number},
      TaskColumn{.name = "dependencies",
                 .kind = K::json,
                 .expression = "array_to_json(ARRAY(SELECT d.depends_on FROM readmodel.task_dependencies d "
                               "WHERE d.task_id = t.id ORDER BY d.ordinal))"},
      TaskColumn{.name = "git", .kind = K::json},
      TaskColumn{.name = "usage_tokens", .kind = K::number, .key = "tokens", .in = In::usage},
      TaskColumn{.name = "usage_cost_usd", .kind = K::number, .key = "cost_usd", .in = In::usage},
      TaskColumn{.name = "gate_results", .kind = K::json},
      TaskColumn{.name = "gates_evaluated_at", .kind = K::timestamp},
      TaskColumn{.name = "last_scope_check", .kind = K::json},
      TaskColumn{.name = "artifact_refs", .kind = K::json, .key = "artifacts"},
      TaskColumn{.name = "message_count", .kind = K::number},
      TaskColumn{.name = "completion_summary", .kind = K::text},
      TaskColumn{.name = "result_artifact_ids", .kind = K::json},
      TaskColumn{.name = "failure_reason", .kind = K::text},
      TaskColumn{.name = "block_reason", .kind = K::text},
      TaskColumn{.name = "needs_human", .kind = K::boolean},
      TaskColumn{.name = "cancel_reason", .kind = K::text},
      TaskColumn{.name = "created_by", .kind = K::text},
      TaskColumn{.name = "created_at", .kind = K::timestamp},
      TaskColumn{.name = "updated_at", .kind = K::timestamp},
      TaskColumn{.name = "started_at", .kind = K::timestamp},
      TaskColumn{.name = "completed_at", .kind = K::timestamp},
  };
}();

// "<expr> AS id, <expr> AS project_id, …" over the tasks row aliased t: kTaskColumns as a select list.
const std::string& task_columns_sql();

// The same object from a TaskState, as the inline projector would write its row (the state a
// command left its task in: projections::CommandOutcome::task), so that a command's answer needs no
// read after the commit. Same keys and values as task_json of the row; jsonb's own key order and
// spacing inside the nested values aside.
std::string task_json(const TaskState& task);

// The task object of a row whose columns `first`, first + 1, … are kTaskColumns (a row may carry
// more columns after them, e.g. a list's cursor).
std::string task_json(const pqxx::row& row, pqxx::row::size_type first = 0);

}  // namespace tasklog::api
