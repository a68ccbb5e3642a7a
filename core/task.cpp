#include "core/task.hpp"

#include "core/sha256.hpp"

#include <algorithm>

namespace tasklog {

Uuid lease_id_of(const Uuid& token) {
  const Sha256Digest digest = sha256(std::string_view(reinterpret_cast<const char*>(token.data), token.size()));
  Uuid id;
  std::copy_n(digest.begin(), id.size(), id.data);
  return id;
}

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
