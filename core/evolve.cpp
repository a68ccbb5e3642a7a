#include "core/evolve.hpp"

#include "core/overloaded.hpp"

#include <algorithm>
#include <limits>

namespace tasklog {
namespace {

std::vector<AcceptanceCriterion> unmet(const std::vector<std::string>& texts) {
  std::vector<AcceptanceCriterion> criteria;
  for (const std::string& text : texts) criteria.push_back({text, false, "", {}});
  return criteria;
}

// A failed attempt (reported or expired): counted, and either retried or the end of the task.
void end_attempt(TaskState& t, std::int64_t attempt, const std::string& reason, bool gave_up,
                 std::optional<Timestamp> retry_at) {
  t.lease.reset();
  t.attempts = attempt;
  t.failure_reason = reason;
  t.status = gave_up ? TaskStatus::failed : TaskStatus::todo;
  t.next_retry_at = gave_up ? std::nullopt : retry_at;
}

}  // namespace

void evolve(ProjectState& p, const DomainEvent& event, const EventMeta& meta) {
  std::visit(
      Overloaded{
          [&](const ProjectCreated& e) {
            p = ProjectState{};
            p.id = e.project_id;
            p.name = e.name;
            p.description = e.description;
            p.rules = e.rules;
            p.members.push_back({e.owner_id, Role::owner, meta.recorded_at});
            p.created_by = e.owner_id;
            p.created_at = meta.recorded_at;
          },
          [&](const ProjectUpdated& e) {
            if (e.name) p.name = *e.name;
            if (e.description) p.description = *e.description;
            if (e.rules) p.rules = *e.rules;
          },
          [&](const ProjectArchived&) {
            p.archived = true;
            p.archived_at = meta.recorded_at;
          },
          [&](const ProjectMemberAdded& e) {
            const auto it = std::find_if(p.members.begin(), p.members.end(), [&](const Member& m) { return m.user_id == e.user_id; });
            if (it != p.members.end())
              it->role = e.role;
            else
              p.members.push_back({e.user_id, e.role, meta.recorded_at});
          },
          [&](const ProjectMemberRemoved& e) {
            std::erase_if(p.members, [&](const Member& m) { return m.user_id == e.user_id; });
          },
          // Their rows are CheckpointRow and DecisionRow; the project row only moves its version.
          [](const CheckpointCreated&) {},
          [](const DecisionRecorded&) {},
          [](const DecisionSuperseded&) {},
          [](const TaskStreamEvent auto&) {},
      },
      event);
  if (route(event).stream_type == StreamType::project) {
    p.version = meta.version;
    p.updated_at = meta.recorded_at;
  }
}

void evolve(TaskState& t, const DomainEvent& event, const EventMeta& meta) {
  std::visit(
      Overloaded{
          [&](const TaskCreated& e) {
            t = TaskState{};
            t.id = e.task_id;
            t.project_id = e.project_id;
            t.title = e.title;
            t.description = e.description;
            t.type = e.type;
            t.priority = e.priority;
            t.acceptance_criteria = unmet(e.acceptance_criteria);
            t.constraints = e.constraints;
            t.dependencies = e.dependencies;
            t.parent_task_id = e.parent_task_id;
            t.timebox_seconds = e.timebox_seconds;
            t.created_by = meta.actor_id;
            t.created_at = meta.recorded_at;
          },
          [&](const TaskUpdated& e) {
            if (e.title) t.title = *e.title;
            if (e.description) t.description = *e.description;
            if (e.type) t.type = *e.type;
            if (e.priority) t.priority = *e.priority;
            if (e.acceptance_criteria) t.acceptance_criteria = unmet(*e.acceptance_criteria);
            if (e.constraints) t.constraints = *e.constraints;
            if (e.timebox_seconds) t.timebox_seconds = e.timebox_seconds;
          },
          [&](const TaskDependencyAdded& e) { t.dependencies.push_back(e.depends_on); },
          [&](const TaskDependencyRemoved& e) { std::erase(t.dependencies, e.depends_on); },
          [&](const TaskClaimed& e) {
            t.status = TaskStatus::in_progress;
            t.lease = Lease{e.lease_id, e.agent, meta.recorded_at, e.expires_at, e.attempt};
            t.next_retry_at.reset();
            if (!t.started_at) t.started_at = meta.recorded_at;
          },
          [&](const TaskLeaseExtended& e) {
            if (t.lease && t.lease->id == e.lease_id) t.lease->expires_at = e.expires_at;
          },
          [&](const TaskReleased&) {
            t.lease.reset();
            t.status = TaskStatus::todo;
          },
          [&](const TaskBlocked& e) {
            t.lease.reset();
            t.status = TaskStatus::blocked;
            t.block_reason = e.reason;
            t.needs_human = e.needs_human;
          },
          [&](const TaskUnblocked&) {
            t.status = TaskStatus::todo;
            t.block_reason.reset();
            t.needs_human = false;
          },
          [&](const TaskCriterionMet& e) {
            if (e.index < 0 || e.index >= static_cast<std::int64_t>(t.acceptance_criteria.size())) return;
            auto& c = t.acceptance_criteria[static_cast<std::size_t>(e.index)];
            c.met = true;
            c.evidence = e.evidence;
            c.met_at = meta.recorded_at;
          },
          [&](const TaskGatesEvaluated& e) {
            t.gate_results = e.results;
            t.gates_evaluated_at = meta.recorded_at;
          },
          [&](const TaskScopeAsserted& e) {
            const auto files = e.files_changed.size() + e.files_added.size() + e.files_deleted.size();
            t.last_scope_check = ScopeCheck{e.in_scope, e.violations, static_cast<std::int64_t>(files), meta.recorded_at};
          },
          [&](const TaskCompleted& e) {
            t.lease.reset();
            t.status = TaskStatus::done;
            t.completion_summary = e.summary;
            t.result_artifact_ids = e.artifact_ids;
            t.completed_at = meta.recorded_at;
          },
          [&](const TaskAttemptFailed& e) { end_attempt(t, e.attempt, e.error, e.gave_up, e.retry_at); },
          // The holder vanished: nothing to back off from, so the task is ready again at once.
          [&](const TaskLeaseExpired& e) { end_attempt(t, e.attempt, "lease expired", e.gave_up, std::nullopt); },
          [&](const TaskCancelled& e) {
            t.lease.reset();
            t.status = TaskStatus::cancelled;
            t.cancel_reason = e.reason;
          },
          [&](const TaskReopened&) {
            t.status = TaskStatus::todo;
            t.attempts = 0;
            t.next_retry_at.reset();
            t.failure_reason.reset();
            t.cancel_reason.reset();
            t.block_reason.reset();
            t.needs_human = false;
            t.completion_summary.clear();
            t.result_artifact_ids.clear();
            t.gate_results.clear();
            t.gates_evaluated_at.reset();
            t.started_at.reset();
            t.completed_at.reset();
          },
          [&](const TaskMessageAppended&) { ++t.message_count; },
          [&](const TaskGitInfoRecorded& e) {
            if (e.git.branch) t.git.branch = e.git.branch;
            if (e.git.target_branch) t.git.target_branch = e.git.target_branch;
            if (e.git.pr_number) t.git.pr_number = e.git.pr_number;
            if (e.git.pr_url) t.git.pr_url = e.git.pr_url;
            if (e.git.commit_hash) t.git.commit_hash = e.git.commit_hash;
          },
          [&](const TaskUsageRecorded& e) {
            // The decider keeps totals far from the limit; a log written before that rule could
            // still hold records that overflow, so the sum saturates instead (deterministic, no UB).
            if (__builtin_add_overflow(t.usage.tokens, e.tokens, &t.usage.tokens))
              t.usage.tokens = e.tokens < 0 ? std::numeric_limits<std::int64_t>::min()
                                            : std::numeric_limits<std::int64_t>::max();
            t.usage.cost_usd += e.cost_usd;
          },
          [&](const ArtifactAppended& e) { t.artifacts.push_back({e.artifact_id, e.type}); },
          [](const ProjectStreamEvent auto&) {},
      },
      event);
  if (route(event).stream_type == StreamType::task) {
    t.version = meta.version;
    t.updated_at = meta.recorded_at;
  }
}

ArtifactRow artifact_row(const ArtifactAppended& e, const EventMeta& meta) {
  return {e.artifact_id, e.project_id, e.task_id,      e.type,           e.ref,         e.summary,
          e.content,     e.content_bytes, meta.actor_id, meta.recorded_at, meta.position};
}

CheckpointRow checkpoint_row(const CheckpointCreated& e, const EventMeta& meta) {
  return {e.checkpoint_id, e.project_id, e.task_id,      e.label,          e.summary,    e.repo_ref,
          e.resume_instructions, e.log_position, e.tasks, meta.actor_id, meta.recorded_at, meta.position};
}

DecisionRow decision_row(const DecisionRecorded& e, const EventMeta& meta) {
  return {e.decision_id, e.project_id,  e.task_id,     e.title,         e.options,        e.choice,      e.rationale,
          e.supersedes,  std::nullopt, std::nullopt, meta.actor_id, meta.recorded_at, meta.position};
}

MessageRow message_row(const TaskMessageAppended& e, const EventMeta& meta) {
  return {e.message_id, e.project_id, e.task_id, e.role, e.content, meta.actor_id, meta.recorded_at, meta.position};
}

void evolve(DecisionRow& decision, const DecisionSuperseded& e, const EventMeta& meta) {
  decision.superseded_by = e.superseded_by;
  decision.superseded_at = meta.recorded_at;
}

void evolve(ProjectModel& model, const DomainEvent& event, const EventMeta& meta) {
  const EventRoute where = route(event);
  if (where.stream_type == StreamType::project) {
    if (!model.project) model.project.emplace();
    evolve(*model.project, event, meta);
  } else {
    evolve(model.tasks[where.stream_id], event, meta);
  }
  // The rows an event creates beside its stream's row.
  std::visit(Overloaded{
                 [&](const ArtifactAppended& e) { model.artifacts[e.artifact_id] = artifact_row(e, meta); },
                 [&](const TaskMessageAppended& e) { model.messages.push_back(message_row(e, meta)); },
                 [&](const CheckpointCreated& e) { model.checkpoints[e.checkpoint_id] = checkpoint_row(e, meta); },
                 [&](const DecisionRecorded& e) { model.decisions[e.decision_id] = decision_row(e, meta); },
                 [&](const DecisionSuperseded& e) {
                   if (auto it = model.decisions.find(e.decision_id); it != model.decisions.end())
                     evolve(it->second, e, meta);
                 },
                 // Every other event changes only its stream's row, handled above.
                 [](const auto&) {},
             },
             event);
}

}  // namespace tasklog
