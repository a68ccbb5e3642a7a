// model_diff: the first difference between two sets of read models, named the way an operator
// looks it up in the database — table, row id, column (the read-model tables' own mapping,
// read_model_tables.hpp) — with both values. verify uses it to say precisely where the read
// models left the fold of the log.
#pragma once

#include "projections/fold.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tasklog::projections {

namespace tables {
struct ListRows;  // read_model_tables.hpp
}

struct Difference {
  std::string table;     // read-model table: projects, project_members, tasks, task_dependencies, ...
  std::string row;       // the row's id (a composite key joined by '/')
  std::string field;     // the differing column; empty when the whole row is missing or extra
  std::string expected;  // JSON text of the value the log implies ("(no row)" when it implies none)
  std::string found;     // JSON text of the value stored ("(no row)" when none is stored)

  std::string describe() const;
  bool operator==(const Difference&) const = default;
};

// The first difference in a fixed order (projects by id; in each: project row, members, tasks,
// dependencies, artifacts, checkpoints, decisions, messages), or nullopt when they are equal.
// `found_lists` are the list tables' rows as stored (tables::load_list_rows), compared column by
// column with the fold's, orphans included; without them, the rows `found`'s lists imply.
std::optional<Difference> first_difference(const ProjectModels& expected, const ProjectModels& found,
                                          const tables::ListRows& found_lists);
std::optional<Difference> first_difference(const ProjectModels& expected, const ProjectModels& found);

// One row that is not the same in two models of a project, with every column of each side as JSON
// text in the table's column order: `before` is empty for an added row, `after` for a removed one.
// What `tasklog diff` reports between two points of the log.
struct RowChange {
  using Columns = std::vector<std::pair<std::string, std::string>>;
  std::string table;
  std::string row;
  Columns before;
  Columns after;
};

// Every changed row, in first_difference's order of tables and keys.
std::vector<RowChange> row_changes(const ProjectModel& before, const ProjectModel& after);

}  // namespace tasklog::projections
