// project_diff: what changed in a project between two points of the log — the project folded from
// the log to each point (as time travel does, by the project's own events) and compared row by
// row through the read-model tables' one column mapping (model_diff.hpp): tasks whose status or
// fields changed, tasks created, new artifacts, decisions, checkpoints, messages and members.
#pragma once

#include "projections/model_diff.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::projections {

struct ProjectDiff {
  Uuid project_id{};
  Position from = 0;         // the state after every event up to here ...
  Position to = 0;           // ... against the state after every event up to here
  std::uint64_t events = 0;  // the project's events in (from, to]
  std::vector<RowChange> changes{};

  // {"project_id","from","to","events","tables":{"tasks":{"added":[row],"changed":[{"id","fields":
  // {"status":{"from","to"}}}],"removed":[row]},...}}: only tables with a change appear; a row is
  // an object of its columns (the read-model table's names and values).
  std::string json() const;
  // The same for a person, one line per row.
  std::string describe() const;
};

// nullopt when the project has no event at or before `to`. Throws std::invalid_argument when
// from > to.
std::optional<ProjectDiff> diff_project(pqxx::transaction_base& tx, const Uuid& project_id, Position from, Position to);

}  // namespace tasklog::projections
