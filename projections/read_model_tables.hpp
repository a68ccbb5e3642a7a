// The one row <-> column mapping of each read-model table. Table<Row>::columns(io, row) lists
// every column once, with the member it holds; the same list drives writing (ColumnWriter),
// reading (ColumnReader, which checks the select list's names against it) and the SQL text
// (ColumnLister). A member added to a row type but not here is caught by the round-trip tests
// (load_all == fold), a column named here but not in the migration by the first statement.
//
// Internal to projections/.
#pragma once

#include "core/project.hpp"
#include "core/records.hpp"
#include "core/task.hpp"
#include "events/database.hpp"
#include "projections/column_values.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace tasklog::projections::tables {

// Rows of the two list tables, which save and load replace as a whole list per owner.
struct MemberRow {
  Uuid project_id{};
  Member member{};
  std::int64_t ordinal = 0;  // position in ProjectState::members
};

struct DependencyRow {
  Uuid task_id{};
  Uuid depends_on{};
  Uuid project_id{};
  std::int64_t ordinal = 0;  // position in TaskState::dependencies
};

// The list tables as stored: every row with every column, also rows whose owner is missing.
// load_all reads them into their owners' lists (ProjectState::members, TaskState::dependencies)
// through the owner's id, in ordinal order, where neither such a row nor the project_id and
// ordinal a row holds can be seen.
struct ListRows {
  std::vector<MemberRow> members;
  std::vector<DependencyRow> dependencies;
};

// ---- the column IO used by Table<Row>::columns ----

struct ColumnInfo {
  std::string_view name;
  bool timestamp = false;
  std::string_view derived_sql{};  // non-empty: not stored, selected through this expression
};

class ColumnLister {
 public:
  static constexpr bool reads = false;
  template <class T>
  void operator()(std::string_view name, const T&) {
    infos.push_back({name, columns::is_timestamp<T>, {}});
  }
  template <class T>
  void derived(std::string_view name, const T&, std::string_view sql) {
    infos.push_back({name, false, sql});
  }
  std::vector<ColumnInfo> infos;
};

class ColumnWriter {
 public:
  static constexpr bool reads = false;
  template <class T>
  void operator()(std::string_view, const T& value) {
    values.push_back(columns::to_sql(value));
  }
  template <class T>
  void derived(std::string_view, const T&, std::string_view) {}
  std::vector<columns::SqlText> values;
};

class ColumnReader {
 public:
  static constexpr bool reads = true;
  // Reads the row's columns from `first` on (a row may hold several tables' columns side by side).
  explicit ColumnReader(const pqxx::row& row, pqxx::row::size_type first = 0) : row_(row), index_(first) {}
  template <class T>
  void operator()(std::string_view name, T& value) {
    const pqxx::field field = next(name);
    columns::from_sql(field, value, name);
  }
  template <class T>
  void derived(std::string_view name, T& value, std::string_view) {
    (*this)(name, value);
  }

 private:
  pqxx::field next(std::string_view name);
  const pqxx::row& row_;
  pqxx::row::size_type index_;
};

template <class Row>
struct Table;

// Derived list columns read the list tables in order; {s} is the schema, {t} the row's alias.
inline constexpr std::string_view kMembersSql =
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', m.user_id, 'role', m.role, 'added_at', "
    "to_char(m.added_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')) ORDER BY m.ordinal), '[]'::jsonb) "
    "FROM {s}.project_members m WHERE m.project_id = {t}.id)";
inline constexpr std::string_view kDependenciesSql =
    "(SELECT coalesce(jsonb_agg(d.depends_on ORDER BY d.ordinal), '[]'::jsonb) "
    "FROM {s}.task_dependencies d WHERE d.task_id = {t}.id)";

template <>
struct Table<ProjectState> {
  static constexpr std::string_view name = "projects";
  static constexpr std::string_view key = "id";
  template <class IO, class R>
  static void columns(IO& io, R& p) {
    io("id", p.id);
    io("name", p.name);
    io("description", p.description);
    io("rules", p.rules);
    io("archived", p.archived);
    io("version", p.version);
    io("created_by", p.created_by);
    io("created_at", p.created_at);
    io("updated_at", p.updated_at);
    io("archived_at", p.archived_at);
    io.derived("members", p.members, kMembersSql);
  }
};

template <>
struct Table<MemberRow> {
  static constexpr std::string_view name = "project_members";
  static constexpr std::string_view key = "project_id, user_id";
  template <class IO, class R>
  static void columns(IO& io, R& m) {
    io("project_id", m.project_id);
    io("user_id", m.member.user_id);
    io("role", m.member.role);
    io("added_at", m.member.added_at);
    io("ordinal", m.ordinal);
  }
};

// The lease as its five nullable columns (all NULL when there is none). The column `lease_token`
// holds the lease's id (Lease::id: the token's fingerprint; for a lease from a version-1 event, that
// event's token, burnt — core/codec.cpp), never a token that still acts.
struct LeaseColumns {
  std::optional<Uuid> id{};
  std::optional<std::string> agent{};
  std::optional<Timestamp> acquired_at{};
  std::optional<Timestamp> expires_at{};
  std::optional<std::int64_t> attempt{};

  static LeaseColumns of(const std::optional<Lease>& lease);
  std::optional<Lease> lease() const;  // nullopt unless every part is present
};

template <>
struct Table<TaskState> {
  static constexpr std::string_view name = "tasks";
  static constexpr std::string_view key = "id";
  template <class IO, class R>
  static void columns(IO& io, R& t) {
    LeaseColumns lease = LeaseColumns::of(t.lease);  // writing: the lease's parts; reading: filled below
    io("id", t.id);
    io("project_id", t.project_id);
    io("title", t.title);
    io("description", t.description);
    io("type", t.type);
    io("priority", t.priority);
    io("status", t.status);
    io("version", t.version);
    io("lease_token", lease.id);
    io("lease_agent", lease.agent);
    io("lease_acquired_at", lease.acquired_at);
    io("lease_expires_at", lease.expires_at);
    io("lease_attempt", lease.attempt);
    io("attempts", t.attempts);
    io("next_retry_at", t.next_retry_at);
    io("acceptance_criteria", t.acceptance_criteria);
    io("constraints", t.constraints);
    io("parent_task_id", t.parent_task_id);
    io("timebox_seconds", t.timebox_seconds);
    io("git", t.git);
    io("usage_tokens", t.usage.tokens);
    io("usage_cost_usd", t.usage.cost_usd);
    io("gate_results", t.gate_results);
    io("gates_evaluated_at", t.gates_evaluated_at);
    io("last_scope_check", t.last_scope_check);
    io("artifact_refs", t.artifacts);
    io("message_count", t.message_count);
    io("completion_summary", t.completion_summary);
    io("result_artifact_ids", t.result_artifact_ids);
    io("failure_reason", t.failure_reason);
    io("block_reason", t.block_reason);
    io("needs_human", t.needs_human);
    io("cancel_reason", t.cancel_reason);
    io("created_by", t.created_by);
    io("created_at", t.created_at);
    io("updated_at", t.updated_at);
    io("started_at", t.started_at);
    io("completed_at", t.completed_at);
    io.derived("dependencies", t.dependencies, kDependenciesSql);
    if constexpr (IO::reads) t.lease = lease.lease();
  }
};

template <>
struct Table<DependencyRow> {
  static constexpr std::string_view name = "task_dependencies";
  static constexpr std::string_view key = "task_id, ordinal";
  template <class IO, class R>
  static void columns(IO& io, R& d) {
    io("task_id", d.task_id);
    io("depends_on", d.depends_on);
    io("project_id", d.project_id);
    io("ordinal", d.ordinal);
  }
};

template <>
struct Table<ArtifactRow> {
  static constexpr std::string_view name = "artifacts";
  static constexpr std::string_view key = "id";
  template <class IO, class R>
  static void columns(IO& io, R& a) {
    io("id", a.id);
    io("project_id", a.project_id);
    io("task_id", a.task_id);
    io("type", a.type);
    io("ref", a.ref);
    io("summary", a.summary);
    io("content", a.content);
    io("content_bytes", a.content_bytes);
    io("created_by", a.created_by);
    io("created_at", a.created_at);
    io("position", a.position);
  }
};

template <>
struct Table<CheckpointRow> {
  static constexpr std::string_view name = "checkpoints";
  static constexpr std::string_view key = "id";
  template <class IO, class R>
  static void columns(IO& io, R& c) {
    io("id", c.id);
    io("project_id", c.project_id);
    io("task_id", c.task_id);
    io("label", c.label);
    io("summary", c.summary);
    io("repo_ref", c.repo_ref);
    io("resume_instructions", c.resume_instructions);
    io("log_position", c.log_position);
    io("tasks", c.tasks);
    io("created_by", c.created_by);
    io("created_at", c.created_at);
    io("position", c.position);
  }
};

template <>
struct Table<DecisionRow> {
  static constexpr std::string_view name = "decisions";
  static constexpr std::string_view key = "id";
  template <class IO, class R>
  static void columns(IO& io, R& d) {
    io("id", d.id);
    io("project_id", d.project_id);
    io("task_id", d.task_id);
    io("title", d.title);
    io("options", d.options);
    io("choice", d.choice);
    io("rationale", d.rationale);
    io("supersedes", d.supersedes);
    io("superseded_by", d.superseded_by);
    io("superseded_at", d.superseded_at);
    io("created_by", d.created_by);
    io("created_at", d.created_at);
    io("position", d.position);
  }
};

template <>
struct Table<MessageRow> {
  static constexpr std::string_view name = "task_messages";
  static constexpr std::string_view key = "id";
  template <class IO, class R>
  static void columns(IO& io, R& m) {
    io("id", m.id);
    io("project_id", m.project_id);
    io("task_id", m.task_id);
    io("role", m.role);
    io("content", m.content);
    io("created_by", m.created_by);
    io("created_at", m.created_at);
    io("position", m.position);
  }
};

// ---- SQL text from the mapping ----

template <class Row>
const std::vector<ColumnInfo>& column_infos() {
  static const std::vector<ColumnInfo> infos = [] {
    ColumnLister lister;
    Row row{};
    Table<Row>::columns(lister, row);
    return lister.infos;
  }();
  return infos;
}

// The names of the eight read-model tables (no schema), for code that must touch every one of them
// (import's emptiness check).
inline std::array<std::string_view, 8> all_table_names() {
  return {Table<ProjectState>::name, Table<MemberRow>::name,  Table<TaskState>::name,   Table<DependencyRow>::name,
          Table<ArtifactRow>::name,  Table<CheckpointRow>::name, Table<DecisionRow>::name, Table<MessageRow>::name};
}

// Schema-qualified table name; `schema` is quoted here.
std::string qualified(pqxx::transaction_base& tx, std::string_view schema, std::string_view table);

std::string select_list(const std::vector<ColumnInfo>& infos, const std::string& quoted_schema, std::string_view alias);
// The stored columns' names, in values_of's order (derived columns are selected, never written).
std::vector<std::string> stored_column_names(const std::vector<ColumnInfo>& infos);
std::string insert_head(const std::vector<ColumnInfo>& infos, const std::string& table);
std::string upsert_tail(const std::vector<ColumnInfo>& infos, std::string_view key);

// "SELECT <every column> FROM schema.table alias" (add WHERE / ORDER BY).
template <class Row>
std::string select_from(pqxx::transaction_base& tx, std::string_view schema, std::string_view alias) {
  return "SELECT " + select_list(column_infos<Row>(), tx.quote_name(std::string(schema)), alias) + " FROM " +
         qualified(tx, schema, Table<Row>::name) + " " + std::string(alias);
}

template <class Row>
Row decode(const pqxx::row& r, pqxx::row::size_type first_column = 0) {
  Row row{};
  ColumnReader reader(r, first_column);
  Table<Row>::columns(reader, row);
  return row;
}

// One row's column values in insert_rows_sql's parameter order (NULL as nullopt).
template <class Row>
std::vector<columns::SqlText> values_of(const Row& row) {
  ColumnWriter writer;
  Table<Row>::columns(writer, row);
  return std::move(writer.values);
}

// Appends "(v1, v2, …)" for one row.
template <class Row>
void append_values(std::string& sql, pqxx::transaction_base& tx, const Row& row) {
  columns::append_literal_list(sql, tx, values_of(row));
}

// Multi-row INSERT statements of `rows`, into `sql`. upsert: replace rows with the same key.
template <class Row, class Rows>
void append_insert(std::string& sql, pqxx::transaction_base& tx, std::string_view schema, const Rows& rows,
                   bool upsert) {
  if (rows.empty()) return;
  sql += insert_head(column_infos<Row>(), qualified(tx, schema, Table<Row>::name));
  bool first = true;
  for (const Row& row : rows) {
    if (!first) sql += ", ";
    first = false;
    append_values(sql, tx, row);
  }
  if (upsert) sql += upsert_tail(column_infos<Row>(), Table<Row>::key);
  sql += ";\n";
}

// "INSERT INTO schema.table (…) VALUES ($1, …, $n), ($n+1, …), …" (+ the upsert tail): `rows` rows
// as parameters, row after row in values_of's order; a fixed text per table, schema and row count,
// prepared once per connection (RowChanges' ExecuteSink). The rows' keys must differ (an upsert
// cannot change a row twice in one statement).
const std::string& insert_rows_sql(const std::vector<ColumnInfo>& infos, const std::string& table,
                                   std::string_view upsert_key, std::size_t rows);
template <class Row>
const std::string& insert_rows_sql(pqxx::transaction_base& tx, std::string_view schema, bool upsert, std::size_t rows) {
  return insert_rows_sql(column_infos<Row>(), qualified(tx, schema, Table<Row>::name), upsert ? Table<Row>::key : "",
                         rows);
}

std::vector<MemberRow> member_rows(const ProjectState& project);
std::vector<DependencyRow> dependency_rows(const TaskState& task);

// Every row of the two list tables of `schema` (what verify compares with the fold's).
ListRows load_list_rows(pqxx::transaction_base& tx, std::string_view schema);

}  // namespace tasklog::projections::tables
