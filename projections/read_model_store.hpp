// The read models in PostgreSQL: one schema (readmodel, or a rebuild's shadow schema) holding
// projects, project_members, tasks, task_dependencies, artifacts, checkpoints, decisions and
// task_messages. Every row type is mapped to its columns once (read_model_tables.hpp); loading,
// bulk writing and per-event saving all go through that one mapping, so what load_all reads back
// equals the in-memory fold (ProjectModel ==) that verify and time travel compute.
//
// Every statement names its schema explicitly (never search_path): a rebuild writes a shadow
// schema with these same functions and later swaps it in by renaming.
//
// Thread-safety: free functions over the caller's transaction; no shared state.
#pragma once

#include "core/chooser.hpp"
#include "core/domain_events.hpp"
#include "core/evolve.hpp"
#include "core/ids.hpp"
#include "core/project.hpp"
#include "core/records.hpp"
#include "core/task.hpp"
#include "core/task_graph.hpp"

#include <pqxx/pqxx>

#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace tasklog::projections {

inline constexpr std::string_view kReadSchema = "readmodel";

// CREATE SCHEMA `schema` with every read-model table, index and view (tasklog_create_read_models,
// migrations 0002 and 0003): granted to tasklog_app (everything) and tasklog_query (SELECT, under
// row-level security by project membership), with security_invoker views. Needs the schema's
// owner (not tasklog_app).
void create_read_model_schema(pqxx::transaction_base& tx, std::string_view schema);

// Every row of every project, as the fold of the log would build it.
std::map<Uuid, ProjectModel> load_all(pqxx::transaction_base& tx, std::string_view schema = kReadSchema);

// Bulk insert of whole models into empty tables: the rebuild's and the import's write. One COPY per
// table (libpqxx 6's stream_to takes only fixed-size tuples and the tables are wide, so the rows go
// as raw lines through its tablewriter; see read_model_store.cpp). Throws FoldError, naming the later
// event, when two events create rows of one id (a log that repeats a message id): nothing is written.
void write_all(pqxx::transaction_base& tx, std::string_view schema, const std::map<Uuid, ProjectModel>& models);

// Upserts (or replaces) exactly the rows `event` changed, reading them from `model`, which is the
// model after evolve(model, event, meta). `model` needs to hold only those rows (its stream's row,
// the row the event creates, the superseded decision); no other row is read.
void save_rows_touched_by(pqxx::transaction_base& tx, std::string_view schema, const ProjectModel& model,
                          const DomainEvent& event);

// What decide() loads (context_needs); all read from the given schema.
std::optional<ProjectState> load_project(pqxx::transaction_base& tx, const Uuid& project_id,
                                         std::string_view schema = kReadSchema);
std::optional<TaskState> load_task(pqxx::transaction_base& tx, const Uuid& task_id,
                                   std::string_view schema = kReadSchema);
TaskGraph load_graph(pqxx::transaction_base& tx, const Uuid& project_id, std::string_view schema = kReadSchema);
// The project's todo tasks, by id (pick_next_task's candidates; readiness is decide()'s call).
std::vector<TaskState> load_todo_tasks(pqxx::transaction_base& tx, const Uuid& project_id,
                                       std::string_view schema = kReadSchema);
std::optional<DecisionRow> load_decision(pqxx::transaction_base& tx, const Uuid& decision_id,
                                         std::string_view schema = kReadSchema);

// ---- beyond the basic loads: the inline projector's and the task engine's hot paths ----

// A task and its project in one round trip: what every task command loads first.
struct TaskWithProject {
  std::optional<TaskState> task{};
  std::optional<ProjectState> project{};
};
TaskWithProject load_task_with_project(pqxx::transaction_base& tx, const Uuid& task_id,
                                       std::string_view schema = kReadSchema);
// The same for several tasks in one round trip; unknown ids are left out.
std::vector<TaskWithProject> load_tasks_with_projects(pqxx::transaction_base& tx, const std::vector<Uuid>& task_ids,
                                                      std::string_view schema = kReadSchema);

// Several rows in one round trip each; unknown ids are left out.
std::vector<ProjectState> load_projects(pqxx::transaction_base& tx, const std::vector<Uuid>& ids,
                                        std::string_view schema = kReadSchema);
std::vector<TaskState> load_tasks(pqxx::transaction_base& tx, const std::vector<Uuid>& ids,
                                  std::string_view schema = kReadSchema);
std::vector<DecisionRow> load_decisions(pqxx::transaction_base& tx, const std::vector<Uuid>& ids,
                                        std::string_view schema = kReadSchema);

// The graph nodes of just these tasks of the project (ids of other projects or none are left
// out): enough for the checks that look only at named tasks (readiness, "does it exist here").
TaskGraph load_graph_nodes(pqxx::transaction_base& tx, const Uuid& project_id, const std::vector<Uuid>& task_ids,
                           std::string_view schema = kReadSchema);

// The project's tasks that are ready at `now` (core/chooser.hpp is_ready, in SQL), best first by
// `strategy`'s order as choose_next_task defines it, at most `limit` (0: all). The dependencies
// strategy ranks by the whole graph, so it takes no limit. With `waiting`, also whether a
// not-started task of the project waits on an unfinished dependency (only then can a completion
// ready another task; true when no task is ready: it is not asked then), in the same statement.
std::vector<TaskState> load_ready_tasks(pqxx::transaction_base& tx, const Uuid& project_id, Timestamp now,
                                        PickStrategy strategy, std::size_t limit,
                                        std::string_view schema = kReadSchema, bool* waiting = nullptr);

}  // namespace tasklog::projections
