// Readiness and pick_next_task's choice. Pure: the caller loads the candidates inside the append
// lock, so the chosen task is claimed before any other agent can choose it.
#pragma once

#include "core/enum_names.hpp"
#include "core/task.hpp"
#include "core/task_graph.hpp"
#include "core/time.hpp"

#include <optional>
#include <vector>

namespace tasklog {

// priority:     most urgent first (critical > high > medium > low), then oldest.
// dependencies: the task that the most unfinished tasks wait on (directly or transitively)
//               first, since finishing it unblocks the most work; then priority, then oldest.
// oldest:       by creation time. newest: the reverse.
// Ties after that go to the smaller task id, so the choice is deterministic.
enum class PickStrategy { priority, dependencies, oldest, newest };

template <>
struct EnumNames<PickStrategy> {
  static constexpr std::string_view schema_type = "pick_strategy";
  static constexpr std::pair<PickStrategy, std::string_view> values[] = {
      {PickStrategy::priority, "priority"},
      {PickStrategy::dependencies, "dependencies"},
      {PickStrategy::oldest, "oldest"},
      {PickStrategy::newest, "newest"}};
};

// Ready: todo, every dependency done, retry time passed, no live lease.
bool is_ready(const TaskState& task, const TaskGraph& graph, Timestamp now);

// The ready candidate to claim, or nullopt when none is ready.
std::optional<Uuid> choose_next_task(const std::vector<TaskState>& candidates, const TaskGraph& graph,
                                     PickStrategy strategy, Timestamp now);

}  // namespace tasklog
