#include "projections/time_travel.hpp"

namespace tasklog::projections {

std::optional<ProjectAt> project_at(pqxx::transaction_base& tx, const Uuid& project_id, Position at) {
  ProjectAt result;
  const FoldResult folded = fold_project(tx, project_id, result.model, 0, at);
  if (folded.events == 0) return std::nullopt;
  result.position = folded.position;
  return result;
}

std::optional<ProjectContext> project_context_at(pqxx::transaction_base& tx, const Uuid& project_id, Position at,
                                                 const ContextOptions& options) {
  const auto project = project_at(tx, project_id, at);
  if (!project) return std::nullopt;
  const auto view = context_view(project->model, project->position, options);
  if (!view) return std::nullopt;
  return ProjectContext{.json = context_json(*view), .position = project->position};
}

}  // namespace tasklog::projections
