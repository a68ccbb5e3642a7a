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
// array. public.tasklog_read_task (migrations/0007) returns the same columns in the same order; a
// test holds the two together.
#pragma once

#include "core/task.hpp"

#include <pqxx/pqxx>

#include <array>
#include <string>
#include <string_view>

namespace tasklog::api {

struct TaskColumn {
  enum class Kind { text, integer, number, boolean, json, timestamp };
  std::string_view name;
  Kind kind;
  std::string_view expression;  // over the tasks row aliased t; empty: t.<name>
};

inline constexpr std::array kTaskColumns{
    TaskColumn{"id", TaskColumn::Kind::text, ""},
    TaskColumn{"project_id", TaskColumn::Kind::text, ""},
    TaskColumn{"title", TaskColumn::Kind::text, ""},
    TaskColumn{"description", TaskColumn::Kind::text, ""},
    TaskColumn{"type", TaskColumn::Kind::text, ""},
    TaskColumn{"priority", TaskColumn::Kind::text, ""},
    TaskColumn{"status", TaskColumn::Kind::text, ""},
    TaskColumn{"version", TaskColumn::Kind::integer, ""},
    TaskColumn{"lease_agent", TaskColumn::Kind::text, ""},
    TaskColumn{"lease_acquired_at", TaskColumn::Kind::timestamp, ""},
    TaskColumn{"lease_expires_at", TaskColumn::Kind::timestamp, ""},
    TaskColumn{"lease_attempt", TaskColumn::Kind::integer, ""},
    TaskColumn{"attempts", TaskColumn::Kind::integer, ""},
    TaskColumn{"next_retry_at", TaskColumn::Kind::timestamp, ""},
    TaskColumn{"acceptance_criteria", TaskColumn::Kind::json, ""},
    TaskColumn{"constraints", TaskColumn::Kind::json, ""},
    TaskColumn{"parent_task_id", TaskColumn::Kind::text, ""},
    TaskColumn{"timebox_seconds", TaskColumn::Kind::integer, ""},
    TaskColumn{"dependencies", TaskColumn::Kind::json,
               "array_to_json(ARRAY(SELECT d.depends_on FROM readmodel.task_dependencies d "
               "WHERE d.task_id = t.id ORDER BY d.ordinal))"},
    TaskColumn{"git", TaskColumn::Kind::json, ""},
    TaskColumn{"usage_tokens", TaskColumn::Kind::integer, ""},
    TaskColumn{"usage_cost_usd", TaskColumn::Kind::number, ""},
    TaskColumn{"gate_results", TaskColumn::Kind::json, ""},
    TaskColumn{"gates_evaluated_at", TaskColumn::Kind::timestamp, ""},
    TaskColumn{"last_scope_check", TaskColumn::Kind::json, ""},
    TaskColumn{"artifact_refs", TaskColumn::Kind::json, ""},
    TaskColumn{"message_count", TaskColumn::Kind::integer, ""},
    TaskColumn{"completion_summary", TaskColumn::Kind::text, ""},
    TaskColumn{"result_artifact_ids", TaskColumn::Kind::json, ""},
    TaskColumn{"failure_reason", TaskColumn::Kind::text, ""},
    TaskColumn{"block_reason", TaskColumn::Kind::text, ""},
    TaskColumn{"needs_human", TaskColumn::Kind::boolean, ""},
    TaskColumn{"cancel_reason", TaskColumn::Kind::text, ""},
    TaskColumn{"created_by", TaskColumn::Kind::text, ""},
    TaskColumn{"created_at", TaskColumn::Kind::timestamp, ""},
    TaskColumn{"updated_at", TaskColumn::Kind::timestamp, ""},
    TaskColumn{"started_at", TaskColumn::Kind::timestamp, ""},
    TaskColumn{"completed_at", TaskColumn::Kind::timestamp, ""},
};

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
