#include "projections/context_shape.hpp"

#include "core/codec.hpp"
#include "core/json.hpp"

#include <algorithm>
#include <tuple>

namespace tasklog::projections {
namespace {

ContextTask task_summary(const TaskState& t) {
  const auto met = std::count_if(t.acceptance_criteria.begin(), t.acceptance_criteria.end(),
                                 [](const AcceptanceCriterion& c) { return c.met; });
  return ContextTask{.id = t.id,
                     .title = t.title,
                     .type = t.type,
                     .status = t.status,
                     .priority = t.priority,
                     .version = t.version,
                     .attempts = t.attempts,
                     .next_retry_at = t.next_retry_at,
                     .parent_task_id = t.parent_task_id,
                     .dependencies = t.dependencies,
                     .criteria_met = met,
                     .criteria_total = std::int64_t(t.acceptance_criteria.size()),
                     .artifact_count = std::int64_t(t.artifacts.size()),
                     .block_reason = t.block_reason,
                     .updated_at = t.updated_at};
}

ContextCheckpoint checkpoint_summary(const CheckpointRow& c) {
  return ContextCheckpoint{.id = c.id,
                           .task_id = c.task_id,
                           .label = c.label,
                           .summary = c.summary,
                           .repo_ref = c.repo_ref,
                           .resume_instructions = c.resume_instructions,
                           .log_position = c.log_position,
                           .tasks = c.tasks,
                           .created_at = c.created_at,
                           .position = c.position};
}

ContextDecision decision_summary(const DecisionRow& d) {
  return ContextDecision{.id = d.id,
                         .task_id = d.task_id,
                         .title = d.title,
                         .options = d.options,
                         .choice = d.choice,
                         .rationale = d.rationale,
                         .supersedes = d.supersedes,
                         .superseded_by = d.superseded_by,
                         .created_at = d.created_at,
                         .position = d.position};
}

}  // namespace

// The orders here are the SQL's ORDER BYs in project_context.cpp (uuid order is byte order in
// both PostgreSQL and Boost).
std::optional<ProjectContextView> context_view(const ProjectModel& model, events::Position position,
                                               const ContextOptions& options) {
  if (!model.project) return std::nullopt;
  const ProjectState& p = *model.project;
  ProjectContextView view{.position = position,
                          .project = {.id = p.id,
                                      .name = p.name,
                                      .description = p.description,
                                      .archived = p.archived,
                                      .version = p.version,
                                      .rules = p.rules,
                                      .updated_at = p.updated_at}};

  std::vector<const TaskState*> tasks;
  for (const auto& [_, t] : model.tasks) tasks.push_back(&t);
  std::sort(tasks.begin(), tasks.end(), [](const TaskState* a, const TaskState* b) {
    return std::tie(a->created_at, a->id) < std::tie(b->created_at, b->id);
  });
  for (const TaskState* t : tasks) view.tasks.push_back(task_summary(*t));

  for (const TaskState* t : tasks)
    if (t->status == TaskStatus::in_progress && t->lease)
      view.active_tasks.push_back({.id = t->id,
                                   .title = t->title,
                                   .agent = t->lease->agent,
                                   .acquired_at = t->lease->acquired_at,
                                   .expires_at = t->lease->expires_at,
                                   .attempt = t->lease->attempt});
  std::sort(view.active_tasks.begin(), view.active_tasks.end(), [](const auto& a, const auto& b) {
    return std::tie(a.acquired_at, a.id) < std::tie(b.acquired_at, b.id);
  });

  const CheckpointRow* latest = nullptr;
  for (const auto& [_, c] : model.checkpoints)
    if (!latest || c.position > latest->position) latest = &c;
  if (latest) view.latest_checkpoint = checkpoint_summary(*latest);

  std::vector<const DecisionRow*> decisions;
  for (const auto& [_, d] : model.decisions) decisions.push_back(&d);
  std::sort(decisions.begin(), decisions.end(), [](const auto* a, const auto* b) { return a->position > b->position; });
  if (decisions.size() > options.recent_decisions) decisions.resize(options.recent_decisions);
  for (const DecisionRow* d : decisions) view.recent_decisions.push_back(decision_summary(*d));
  return view;
}

std::string context_json(const ProjectContextView& view) {
  rapidjson::Document doc;
  field_codec::write(view, doc, doc.GetAllocator());
  return canonical_json(doc);
}

ProjectContextView parse_context(std::string_view json) {
  rapidjson::Document doc;
  parse_json(json, doc, JsonLimits{.max_depth = 64, .max_string_bytes = std::size_t{1} << 30});
  return from_json_value<ProjectContextView>(doc);
}

}  // namespace tasklog::projections
