// The project's tasks as a dependency graph: what the caller loads for the commands that look
// beyond one task (dependency checks, cycle checks, readiness, checkpoints, the chooser).
#pragma once

#include "core/ids.hpp"
#include "core/task.hpp"

#include <cstddef>
#include <map>
#include <vector>

namespace tasklog {

struct TaskNode {
  TaskStatus status = TaskStatus::todo;
  std::vector<Uuid> dependencies;

  bool operator==(const TaskNode&) const = default;
};

// Every task of one project, by id. Ordered, so that every walk over it is deterministic.
using TaskGraph = std::map<Uuid, TaskNode>;

// The cycle that the edge task -> depends_on would close, as [task, depends_on, ..., task]
// (each element depends on the next); empty when it closes none. A self edge gives [task, task].
std::vector<Uuid> find_cycle(const TaskGraph& graph, const Uuid& task, const Uuid& depends_on);

// The dependencies that are not done (unknown ids included: they cannot be done).
std::vector<Uuid> open_dependencies(const std::vector<Uuid>& dependencies, const TaskGraph& graph);

// For each task, how many unfinished tasks (not done, failed or cancelled) wait on it directly
// or through others: finishing a task with many waiting on it unblocks the most work.
std::map<Uuid, std::size_t> waiting_dependents(const TaskGraph& graph);

}  // namespace tasklog
