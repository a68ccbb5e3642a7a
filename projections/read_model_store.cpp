#include "projections/read_model_store.hpp"

#include "events/database.hpp"
#include "projections/fold.hpp"
#include "projections/read_model_tables.hpp"
#include "projections/row_changes.hpp"

#include <pqxx/tablewriter>

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace tasklog::projections {
namespace {

using namespace tables;
using events::exec_cached;

template <class Row>
std::vector<Row> decode_all(const pqxx::result& result) {
  std::vector<Row> rows;
  rows.reserve(result.size());
  for (const auto& r : result) rows.push_back(decode<Row>(r));
  return rows;
}

template <class Row>
std::vector<Row> rows_by_id(pqxx::transaction_base& tx, std::string_view schema, const std::vector<Uuid>& ids) {
  if (ids.empty()) return {};
  return decode_all<Row>(exec_cached(tx, select_from<Row>(tx, schema, "x") + " WHERE x.id = ANY ($1::uuid[]) ORDER BY x.id",
                                     events::uuid_array(ids)));
}

template <class Row>
std::optional<Row> row_by_id(pqxx::transaction_base& tx, std::string_view schema, const Uuid& id) {
  const auto rows = exec_cached(tx, select_from<Row>(tx, schema, "x") + " WHERE x.id = $1", to_string(id));
  if (rows.empty()) return std::nullopt;
  return decode<Row>(rows[0]);
}

// A value in COPY's text format: backslash, newline, carriage return and tab escaped, every other
// byte as it is (UTF-8 included). libpqxx 6.4's own escaping for COPY (tablewriter's) writes bytes
// above 0x7f as octal escapes that arrive doubled — "✓" was stored as the text "\342\234\223"
// (the read-model round-trip test caught it) — so the rows are written here as raw lines.
void append_copy_text(std::string& line, std::string_view value) {
  for (const char ch : value) {
    switch (ch) {
      case '\\': line += "\\\\"; break;
      case '\n': line += "\\n"; break;
      case '\r': line += "\\r"; break;
      case '\t': line += "\\t"; break;
      default: line.push_back(ch);
    }
  }
}

// Every row of a table at once, with COPY. A rebuild writes whole tables into an empty shadow
// schema; as multi-row INSERTs their literals were lexed and parsed by PostgreSQL statement by
// statement (rebuild_bench, 1,000,000 events: shadow write 8.5 s as INSERTs, 2.7 s with COPY).
// libpqxx 6.4's stream_to takes only tuples of a compile-time width; its tablewriter (deprecated
// there in stream_to's favour) takes raw lines, which is what a row of a table's width needs.
template <class Row>
void copy_rows(pqxx::transaction_base& tx, std::string_view schema, const std::vector<Row>& rows) {
  if (rows.empty()) return;
  const auto names = stored_column_names(column_infos<Row>());
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter writer(tx, qualified(tx, schema, Table<Row>::name), names.begin(), names.end());
#pragma GCC diagnostic pop
  std::string line;
  for (const Row& row : rows) {
    line.clear();
    bool first = true;
    for (const auto& value : values_of(row)) {
      if (!first) line.push_back('\t');
      first = false;
      if (value)
        append_copy_text(line, *value);
      else
        line += "\\N";
    }
    writer.write_raw_line(line);
  }
  writer.complete();
}

// Two events that create rows of one key — a message id the log repeats, an artifact id in two
// projects — leave a fold these tables cannot hold (each row's key is its id). Named by the later
// event's position, as a FoldError like any other event the read models cannot take, instead of
// as a primary-key violation halfway through a COPY.
template <class Row>
void refuse_repeated_ids(const std::vector<Row>& rows) {
  std::vector<std::pair<Uuid, std::int64_t>> ids;
  ids.reserve(rows.size());
  for (const Row& row : rows) ids.emplace_back(row.id, row.position);
  std::ranges::sort(ids);
  const auto repeat = std::ranges::adjacent_find(ids, {}, &std::pair<Uuid, std::int64_t>::first);
  if (repeat == ids.end()) return;
  throw FoldError(std::next(repeat)->second,
                  fmt::format("it creates {} row {}, which the event at position {} created already",
                              Table<Row>::name, to_string(repeat->first), repeat->second));
}

// The ORDER BY that matches choose_next_task's order for a strategy (ties by id, as uuids compare
// bytewise in both places).
std::string_view ready_order(PickStrategy strategy) {
  switch (strategy) {
    case PickStrategy::priority: return " ORDER BY x.priority_rank DESC, x.created_at, x.id";
    case PickStrategy::oldest: return " ORDER BY x.created_at, x.id";
    case PickStrategy::newest: return " ORDER BY x.created_at DESC, x.id";
    case PickStrategy::dependencies: return " ORDER BY x.id";
  }
  return " ORDER BY x.id";
}

// Whether a task of the project $1 that is not started yet waits on an unfinished dependency (only
// then can a task's completion make another task ready), driven by the project's dependency rows
// (indexed by project), so that a project of ten thousand tasks and no dependencies answers at
// once. The order is forced (a subquery behind OFFSET 0, lateral lookups with LIMIT 1 that cannot
// be pulled up): a generic plan made while the tables were nearly empty otherwise scanned every
// task not started yet for each call (8,900 of them, 8.6 ms, found by auto_explain in http_bench).
std::string waiting_sql(pqxx::transaction_base& tx, std::string_view schema) {
  const std::string tasks = qualified(tx, schema, "tasks");
  return "SELECT EXISTS (SELECT 1 FROM (SELECT d.task_id, d.depends_on FROM " +
         qualified(tx, schema, "task_dependencies") +
         " d WHERE d.project_id = $1 OFFSET 0) d"
         " CROSS JOIN LATERAL (SELECT 1 FROM " + tasks + " w WHERE w.id = d.task_id AND w.status = 'todo' LIMIT 1) w"
         " LEFT JOIN LATERAL (SELECT dep.status FROM " + tasks + " dep WHERE dep.id = d.depends_on LIMIT 1) dep ON true"
         " WHERE dep.status IS DISTINCT FROM 'done')";
}

}  // namespace

void create_read_model_schema(pqxx::transaction_base& tx, std::string_view schema) {
  const std::string name(schema);
  tx.exec("CREATE SCHEMA " + tx.quote_name(name));
  tx.exec_params("SELECT public.tasklog_create_read_models($1)", name);
}

std::map<Uuid, ProjectModel> load_all(pqxx::transaction_base& tx, std::string_view schema) {
  std::map<Uuid, ProjectModel> models;
  for (auto& p : decode_all<ProjectState>(tx.exec(select_from<ProjectState>(tx, schema, "x"))))
    models[p.id].project = std::move(p);
  for (auto& t : decode_all<TaskState>(tx.exec(select_from<TaskState>(tx, schema, "x"))))
    models[t.project_id].tasks.emplace(t.id, std::move(t));
  for (auto& a : decode_all<ArtifactRow>(tx.exec(select_from<ArtifactRow>(tx, schema, "x"))))
    models[a.project_id].artifacts.emplace(a.id, std::move(a));
  for (auto& c : decode_all<CheckpointRow>(tx.exec(select_from<CheckpointRow>(tx, schema, "x"))))
    models[c.project_id].checkpoints.emplace(c.id, std::move(c));
  for (auto& d : decode_all<DecisionRow>(tx.exec(select_from<DecisionRow>(tx, schema, "x"))))
    models[d.project_id].decisions.emplace(d.id, std::move(d));
  for (auto& m : decode_all<MessageRow>(tx.exec(select_from<MessageRow>(tx, schema, "x") + " ORDER BY x.position")))
    models[m.project_id].messages.push_back(std::move(m));
  return models;
}

void write_all(pqxx::transaction_base& tx, std::string_view schema, const std::map<Uuid, ProjectModel>& models) {
  std::vector<ProjectState> projects;
  std::vector<MemberRow> members;
  std::vector<TaskState> tasks;
  std::vector<DependencyRow> edges;
  std::vector<ArtifactRow> artifacts;
  std::vector<CheckpointRow> checkpoints;
  std::vector<DecisionRow> decisions;
  std::vector<MessageRow> messages;
  for (const auto& [id, model] : models) {
    if (model.project) {
      projects.push_back(*model.project);
      std::ranges::move(member_rows(*model.project), std::back_inserter(members));
    }
    for (const auto& [task_id, task] : model.tasks) {
      tasks.push_back(task);
      std::ranges::move(dependency_rows(task), std::back_inserter(edges));
    }
    for (const auto& [artifact_id, a] : model.artifacts) artifacts.push_back(a);
    for (const auto& [checkpoint_id, c] : model.checkpoints) checkpoints.push_back(c);
    for (const auto& [decision_id, d] : model.decisions) decisions.push_back(d);
    messages.insert(messages.end(), model.messages.begin(), model.messages.end());
  }
  refuse_repeated_ids(artifacts);
  refuse_repeated_ids(checkpoints);
  refuse_repeated_ids(decisions);
  refuse_repeated_ids(messages);
  copy_rows(tx, schema, projects);
  copy_rows(tx, schema, members);
  copy_rows(tx, schema, tasks);
  copy_rows(tx, schema, edges);
  copy_rows(tx, schema, artifacts);
  copy_rows(tx, schema, checkpoints);
  copy_rows(tx, schema, decisions);
  copy_rows(tx, schema, messages);
}

void save_rows_touched_by(pqxx::transaction_base& tx, std::string_view schema, const ProjectModel& model,
                          const DomainEvent& event) {
  RowChanges changes;
  changes.add(event);
  std::string sql;
  changes.append_sql(sql, tx, schema, [&](const Uuid&) { return &model; });
  if (!sql.empty()) tx.exec(sql);
}

std::optional<ProjectState> load_project(pqxx::transaction_base& tx, const Uuid& project_id, std::string_view schema) {
  return row_by_id<ProjectState>(tx, schema, project_id);
}

std::optional<TaskState> load_task(pqxx::transaction_base& tx, const Uuid& task_id, std::string_view schema) {
  return row_by_id<TaskState>(tx, schema, task_id);
}

std::optional<DecisionRow> load_decision(pqxx::transaction_base& tx, const Uuid& decision_id, std::string_view schema) {
  return row_by_id<DecisionRow>(tx, schema, decision_id);
}

namespace {

std::string task_with_project_sql(pqxx::transaction_base& tx, std::string_view schema, std::string_view where) {
  const std::string quoted = tx.quote_name(std::string(schema));
  return "SELECT " + select_list(column_infos<TaskState>(), quoted, "x") + ", " +
         select_list(column_infos<ProjectState>(), quoted, "p") + " FROM " + qualified(tx, schema, "tasks") + " x JOIN " +
         qualified(tx, schema, "projects") + " p ON p.id = x.project_id WHERE " + std::string(where);
}

TaskWithProject decode_task_with_project(const pqxx::row& row) {
  return {decode<TaskState>(row), decode<ProjectState>(row, column_infos<TaskState>().size())};
}

}  // namespace

TaskWithProject load_task_with_project(pqxx::transaction_base& tx, const Uuid& task_id, std::string_view schema) {
  const auto rows = exec_cached(tx, task_with_project_sql(tx, schema, "x.id = $1"), to_string(task_id));
  if (rows.empty()) return {load_task(tx, task_id, schema), std::nullopt};  // no task, or (never) no project row
  return decode_task_with_project(rows[0]);
}

std::vector<TaskWithProject> load_tasks_with_projects(pqxx::transaction_base& tx, const std::vector<Uuid>& task_ids,
                                                      std::string_view schema) {
  std::vector<TaskWithProject> out;
  for (const auto& row :
       exec_cached(tx, task_with_project_sql(tx, schema, "x.id = ANY ($1::uuid[])"), events::uuid_array(task_ids)))
    out.push_back(decode_task_with_project(row));
  return out;
}

std::vector<ProjectState> load_projects(pqxx::transaction_base& tx, const std::vector<Uuid>& ids, std::string_view schema) {
  return rows_by_id<ProjectState>(tx, schema, ids);
}

std::vector<TaskState> load_tasks(pqxx::transaction_base& tx, const std::vector<Uuid>& ids, std::string_view schema) {
  return rows_by_id<TaskState>(tx, schema, ids);
}

std::vector<DecisionRow> load_decisions(pqxx::transaction_base& tx, const std::vector<Uuid>& ids, std::string_view schema) {
  return rows_by_id<DecisionRow>(tx, schema, ids);
}

namespace {

// Rows of (id, status, depends_on or NULL), ordered by id then ordinal.
TaskGraph graph_from(const pqxx::result& result) {
  TaskGraph graph;
  for (const auto& row : result) {
    TaskNode& node = graph[columns::uuid_from(row[0].c_str(), "id")];
    node.status = *parse_enum<TaskStatus>(row[1].c_str());
    if (!row[2].is_null()) node.dependencies.push_back(columns::uuid_from(row[2].c_str(), "depends_on"));
  }
  return graph;
}

std::string graph_sql(pqxx::transaction_base& tx, std::string_view schema, std::string_view where) {
  return fmt::format(
      "SELECT t.id, t.status, d.depends_on FROM {} t LEFT JOIN {} d ON d.task_id = t.id WHERE {} "
      "ORDER BY t.id, d.ordinal",
      qualified(tx, schema, "tasks"), qualified(tx, schema, "task_dependencies"), where);
}

}  // namespace

TaskGraph load_graph(pqxx::transaction_base& tx, const Uuid& project_id, std::string_view schema) {
  return graph_from(exec_cached(tx, graph_sql(tx, schema, "t.project_id = $1"), to_string(project_id)));
}

TaskGraph load_graph_nodes(pqxx::transaction_base& tx, const Uuid& project_id, const std::vector<Uuid>& task_ids,
                           std::string_view schema) {
  if (task_ids.empty()) return {};
  return graph_from(exec_cached(tx, graph_sql(tx, schema, "t.project_id = $1 AND t.id = ANY ($2::uuid[])"),
                                to_string(project_id), events::uuid_array(task_ids)));
}

std::vector<TaskState> load_todo_tasks(pqxx::transaction_base& tx, const Uuid& project_id, std::string_view schema) {
  return decode_all<TaskState>(exec_cached(
      tx, select_from<TaskState>(tx, schema, "x") + " WHERE x.project_id = $1 AND x.status = 'todo' ORDER BY x.id",
      to_string(project_id)));
}

std::vector<TaskState> load_ready_tasks(pqxx::transaction_base& tx, const Uuid& project_id, Timestamp now,
                                        PickStrategy strategy, std::size_t limit, std::string_view schema,
                                        bool* waiting) {
  const std::string tasks = qualified(tx, schema, "tasks");
  const std::string dependencies = qualified(tx, schema, "task_dependencies");
  std::string sql = "SELECT " + select_list(column_infos<TaskState>(), tx.quote_name(std::string(schema)), "x");
  // Asked for, whether a task waits (waiting_sql) in the same statement: an uncorrelated subquery, run once.
  if (waiting)
    sql += ", (" + waiting_sql(tx, schema) + ")";
  // The ready_tasks view's condition, at the caller's `now` instead of the server's.
  sql += " FROM " + tasks + " x WHERE x.project_id = $1 AND x.status = 'todo'"
         " AND (x.next_retry_at IS NULL OR x.next_retry_at <= $2)"
         " AND (x.lease_expires_at IS NULL OR x.lease_expires_at <= $2)"
         " AND NOT EXISTS (SELECT 1 FROM " + dependencies + " d LEFT JOIN " + tasks +
         " dep ON dep.id = d.depends_on WHERE d.task_id = x.id AND dep.status IS DISTINCT FROM 'done')";
  sql += ready_order(strategy);
  // The limit is part of the text, not a parameter: the writer plans its statements once, generic
  // (events/event_store.cpp connect), and a generic plan with `LIMIT $3` assumes a tenth of the
  // project's not-started tasks are wanted — it sorted all of them (28 ms a call with 9,500 of
  // them) instead of walking the ordered partial index for the first 16 (0.1 ms). The limits in
  // use are few (kPickCandidates, or all), so are the statements.
  const bool all = limit == 0 || strategy == PickStrategy::dependencies;
  if (!all) sql += " LIMIT " + std::to_string(limit);
  const auto rows = exec_cached(tx, sql, to_string(project_id), columns::text_of(now));
  // No ready task, no answer: count it as waiting (the careful side).
  if (waiting) *waiting = rows.empty() || rows[0][static_cast<int>(column_infos<TaskState>().size())].as<bool>();
  return decode_all<TaskState>(rows);
}

}  // namespace tasklog::projections
