#include "projections/model_diff.hpp"

#include "core/codec.hpp"
#include "core/terminal_text.hpp"
#include "projections/read_model_tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace tasklog::projections {
namespace {

using tables::DependencyRow;
using tables::MemberRow;
using tables::Table;

constexpr const char* kNoRow = "(no row)";
constexpr const char* kRow = "(row)";

template <class T>
std::string text(const T& value) {
  if constexpr (field_codec::IsOptional<T>::value) {
    return value ? text(*value) : std::string("null");
  } else {
    rapidjson::Document doc;
    field_codec::write(value, doc, doc.GetAllocator());
    return to_json(doc);
  }
}

// Every stored column of a row as JSON text, through the tables' one row <-> column mapping
// (read_model_tables.hpp), so a difference is named by the column an operator would query.
// Derived columns (members, dependencies) are rows of their own tables, compared as such.
class ColumnTexts {
 public:
  static constexpr bool reads = false;
  template <class T>
  void operator()(std::string_view name, const T& value) {
    columns.emplace_back(name, text(value));
  }
  template <class T>
  void derived(std::string_view, const T&, std::string_view) {}

  std::vector<std::pair<std::string_view, std::string>> columns;
};

template <class Row>
std::vector<std::pair<std::string_view, std::string>> column_texts(const Row& row) {
  ColumnTexts io;
  Table<Row>::columns(io, row);
  return std::move(io.columns);
}

template <class Row>
std::optional<Difference> compare_row(const std::string& row_id, const Row& expected, const Row& found) {
  const auto e = column_texts(expected);
  const auto f = column_texts(found);
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e[i].second != f[i].second)
      return Difference{std::string(Table<Row>::name), row_id, std::string(e[i].first), e[i].second, f[i].second};
  return std::nullopt;
}

template <class Row>
Difference missing(const std::string& row_id, bool in_expected) {
  return Difference{std::string(Table<Row>::name), row_id, "", in_expected ? kRow : kNoRow, in_expected ? kNoRow : kRow};
}

// Every key of either map, in order.
template <class Key, class Value>
std::set<Key> keys_of_both(const std::map<Key, Value>& a, const std::map<Key, Value>& b) {
  std::set<Key> keys;
  for (const auto& [k, _] : a) keys.insert(k);
  for (const auto& [k, _] : b) keys.insert(k);
  return keys;
}

// Rows by key on both sides, in key order: the first missing, extra or differing row.
template <class Row, class Key>
std::optional<Difference> compare_rows(const std::map<Key, Row>& expected, const std::map<Key, Row>& found,
                                       const std::function<std::string(const Key&)>& row_id) {
  for (const Key& key : keys_of_both(expected, found)) {
    const auto e = expected.find(key);
    const auto f = found.find(key);
    if (e == expected.end() || f == found.end()) return missing<Row>(row_id(key), e != expected.end());
    if (auto d = compare_row(row_id(key), e->second, f->second)) return d;
  }
  return std::nullopt;
}

template <class Row>
std::optional<Difference> compare_by_id(const std::map<Uuid, Row>& expected, const std::map<Uuid, Row>& found) {
  return compare_rows<Row, Uuid>(expected, found, [](const Uuid& id) { return to_string(id); });
}

// The list tables: a row per (owner, member), its ordinal the place in the owner's list.
std::map<Uuid, MemberRow> member_rows(const ProjectState& p) {
  std::map<Uuid, MemberRow> rows;
  for (std::size_t i = 0; i < p.members.size(); ++i)
    rows.emplace(p.members[i].user_id, MemberRow{p.id, p.members[i], std::int64_t(i)});
  return rows;
}

std::optional<Difference> compare_project_rows(const Uuid& id, const std::optional<ProjectState>& expected,
                                               const std::optional<ProjectState>& found) {
  if (!expected && !found) return std::nullopt;
  if (!expected || !found) return missing<ProjectState>(to_string(id), expected.has_value());
  return compare_row(to_string(id), *expected, *found);
}

// One project's rows of the list tables. Members by user_id (their key is project_id, user_id),
// dependencies by their key, task_id and ordinal: the fold keeps a dependency added twice twice
// (the schema holds it, migration 0002), and keyed by depends_on the second would vanish.
struct ListTables {
  std::map<Uuid, MemberRow> members;
  std::map<std::pair<Uuid, std::int64_t>, DependencyRow> dependencies;
};

ListTables fold_lists(const ProjectModel& model) {
  ListTables lists;
  if (model.project) lists.members = member_rows(*model.project);
  for (const auto& [id, task] : model.tasks)
    for (DependencyRow& row : tables::dependency_rows(task))
      lists.dependencies.emplace(std::pair(id, row.ordinal), std::move(row));
  return lists;
}

// The stored rows by the project they belong to: a member row by its project_id (part of its key);
// a dependency row by the project of its task as the tasks table has it — so that a wrong
// project_id is a difference in that column — or, when no stored task has its task_id, by its own.
std::map<Uuid, ListTables> stored_lists(const tables::ListRows& rows, const ProjectModels& found) {
  std::map<Uuid, Uuid> project_of_task;
  for (const auto& [project, model] : found)
    for (const auto& [id, _] : model.tasks) project_of_task.emplace(id, project);
  std::map<Uuid, ListTables> lists;
  for (const MemberRow& row : rows.members) lists[row.project_id].members.emplace(row.member.user_id, row);
  for (const DependencyRow& row : rows.dependencies) {
    const auto owner = project_of_task.find(row.task_id);
    lists[owner == project_of_task.end() ? row.project_id : owner->second].dependencies.emplace(
        std::pair(row.task_id, row.ordinal), row);
  }
  return lists;
}

template <class Row, class Key>
std::map<Uuid, Row> by_id(const std::vector<Row>& rows, Key key) {
  std::map<Uuid, Row> out;
  for (const Row& row : rows) out.emplace(std::invoke(key, row), row);
  return out;
}

std::map<Uuid, std::size_t> rows_per_id(const std::vector<MessageRow>& rows) {
  std::map<Uuid, std::size_t> counts;
  for (const MessageRow& row : rows) ++counts[row.id];
  return counts;
}

std::optional<Difference> compare_messages(const std::vector<MessageRow>& expected, const std::vector<MessageRow>& found) {
  if (auto d = compare_by_id(by_id(expected, &MessageRow::id), by_id(found, &MessageRow::id))) return d;
  // by_id keeps the first row of an id: a log that repeats a message id (two rows the table's key
  // cannot hold) would pass the comparison above and leave the two lists of different lengths.
  const auto expected_rows = rows_per_id(expected);
  const auto found_rows = rows_per_id(found);
  for (const auto& [id, n] : expected_rows)
    if (found_rows.at(id) != n)
      return Difference{"task_messages", to_string(id), "(rows with this id)", std::to_string(n),
                        std::to_string(found_rows.at(id))};
  // The same ids as often on both sides, so the same sizes: only the order that a load returns them
  // in can still differ.
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (expected[i].id != found[i].id)
      return Difference{"task_messages", to_string(expected[i].id), "(log order)", fmt::format("index {}", i),
                        "a different index"};
  return std::nullopt;
}

std::optional<Difference> compare_project(const Uuid& id, const ProjectModel& expected, const ProjectModel& found,
                                          const ListTables& stored) {
  if (auto d = compare_project_rows(id, expected.project, found.project)) return d;
  const ListTables folded = fold_lists(expected);
  if (auto d = compare_rows<MemberRow, Uuid>(folded.members, stored.members,
                                             [&](const Uuid& user) { return to_string(id) + "/" + to_string(user); }))
    return d;
  if (auto d = compare_by_id(expected.tasks, found.tasks)) return d;
  if (auto d = compare_rows<DependencyRow, std::pair<Uuid, std::int64_t>>(
          folded.dependencies, stored.dependencies,
          [](const auto& key) { return to_string(key.first) + "/" + std::to_string(key.second); }))
    return d;
  if (auto d = compare_by_id(expected.artifacts, found.artifacts)) return d;
  if (auto d = compare_by_id(expected.checkpoints, found.checkpoints)) return d;
  if (auto d = compare_by_id(expected.decisions, found.decisions)) return d;
  if (auto d = compare_messages(expected.messages, found.messages)) return d;
  // Equal in every column yet unequal: a member of a row type that no column holds.
  if (!(expected == found)) return Difference{"(project)", to_string(id), "(a member no read-model column holds)", "", ""};
  return std::nullopt;
}

// Every key of both sides whose row is missing on one or differs in a column, as a RowChange.
template <class Row, class Key>
void collect_changes(const std::map<Key, Row>& before, const std::map<Key, Row>& after,
                     const std::function<std::string(const Key&)>& row_id, std::vector<RowChange>& out) {
  auto columns = [](const auto& row) {
    RowChange::Columns texts;
    for (auto& [name, value] : column_texts(row)) texts.emplace_back(std::string(name), std::move(value));
    return texts;
  };
  for (const Key& key : keys_of_both(before, after)) {
    const auto b = before.find(key);
    const auto a = after.find(key);
    RowChange change{std::string(Table<Row>::name), row_id(key), {}, {}};
    if (b != before.end()) change.before = columns(b->second);
    if (a != after.end()) change.after = columns(a->second);
    if (change.before != change.after) out.push_back(std::move(change));
  }
}

template <class Row>
void collect_by_id(const std::map<Uuid, Row>& before, const std::map<Uuid, Row>& after, std::vector<RowChange>& out) {
  collect_changes<Row, Uuid>(before, after, [](const Uuid& id) { return to_string(id); }, out);
}

// A task's dependency rows keyed "task/on", over every task of either side: a diff is read by a
// person, who asks which dependency came or went (keyed by ordinal, removing the first of three
// would read as two changed rows and one removed); a dependency added twice shows once.
std::map<std::pair<Uuid, Uuid>, DependencyRow> all_dependency_rows(const std::map<Uuid, TaskState>& tasks) {
  std::map<std::pair<Uuid, Uuid>, DependencyRow> rows;
  for (const auto& [id, task] : tasks)
    for (DependencyRow& row : tables::dependency_rows(task)) rows.emplace(std::pair(id, row.depends_on), std::move(row));
  return rows;
}

std::string pair_id(const std::pair<Uuid, Uuid>& key) { return to_string(key.first) + "/" + to_string(key.second); }

}  // namespace

std::vector<RowChange> row_changes(const ProjectModel& before, const ProjectModel& after) {
  std::vector<RowChange> out;
  auto project_rows = [](const ProjectModel& m) {
    std::map<Uuid, ProjectState> rows;
    if (m.project) rows.emplace(m.project->id, *m.project);
    return rows;
  };
  auto all_member_rows = [](const ProjectModel& m) {
    std::map<std::pair<Uuid, Uuid>, MemberRow> rows;
    if (m.project)
      for (auto& [user, row] : member_rows(*m.project)) rows.emplace(std::pair(m.project->id, user), row);
    return rows;
  };
  collect_by_id(project_rows(before), project_rows(after), out);
  collect_changes<MemberRow, std::pair<Uuid, Uuid>>(all_member_rows(before), all_member_rows(after), pair_id, out);
  collect_by_id(before.tasks, after.tasks, out);
  collect_changes<DependencyRow, std::pair<Uuid, Uuid>>(all_dependency_rows(before.tasks),
                                                        all_dependency_rows(after.tasks), pair_id, out);
  collect_by_id(before.artifacts, after.artifacts, out);
  collect_by_id(before.checkpoints, after.checkpoints, out);
  collect_by_id(before.decisions, after.decisions, out);
  collect_by_id(by_id(before.messages, &MessageRow::id), by_id(after.messages, &MessageRow::id), out);
  return out;
}

std::string Difference::describe() const {
  if (field.empty()) {
    return expected == kNoRow ? fmt::format("{} row {}: stored, but the log has no such row", table, row)
                              : fmt::format("{} row {}: missing (the log has it)", table, row);
  }
  return fmt::format("{} row {}, field {}: expected {}, found {}", table, row, field, for_terminal(expected),
                     for_terminal(found));
}

std::optional<Difference> first_difference(const ProjectModels& expected, const ProjectModels& found,
                                          const tables::ListRows& found_lists) {
  static const ProjectModel kEmpty{};
  static const ListTables kNoRows{};
  const std::map<Uuid, ListTables> stored = stored_lists(found_lists, found);
  std::set<Uuid> ids = keys_of_both(expected, found);
  for (const auto& [id, _] : stored) ids.insert(id);  // list rows of a project no other row names
  for (const Uuid& id : ids) {
    const auto e = expected.find(id);
    const auto f = found.find(id);
    const auto s = stored.find(id);
    // A project absent on one side compares as an empty model: its first row is reported missing.
    if (auto d = compare_project(id, e == expected.end() ? kEmpty : e->second, f == found.end() ? kEmpty : f->second,
                                 s == stored.end() ? kNoRows : s->second))
      return d;
  }
  return std::nullopt;
}

std::optional<Difference> first_difference(const ProjectModels& expected, const ProjectModels& found) {
  tables::ListRows rows;
  for (const auto& [_, model] : found) {
    if (model.project) std::ranges::move(tables::member_rows(*model.project), std::back_inserter(rows.members));
    for (const auto& [id, task] : model.tasks)
      std::ranges::move(tables::dependency_rows(task), std::back_inserter(rows.dependencies));
  }
  return first_difference(expected, found, rows);
}

}  // namespace tasklog::projections
