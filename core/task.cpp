#include "core/task.hpp"

#include <algorithm>

namespace tasklog {

bool is_terminal(TaskStatus status) {
  return status == TaskStatus::done || status == TaskStatus::failed || status == TaskStatus::cancelled;
}

std::int64_t TaskState::artifact_count(ArtifactType t) const {
  return std::count_if(artifacts.begin(), artifacts.end(), [&](const TaskArtifactRef& a) { return a.type == t; });
}

bool TaskState::all_criteria_met() const {
  return std::all_of(acceptance_criteria.begin(), acceptance_criteria.end(),
                     [](const AcceptanceCriterion& c) { return c.met; });
}

}  // namespace tasklog
