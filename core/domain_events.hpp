// The domain's events: what happened, as value types. Each has a stable type name (the `type`
// column; never renamed), a schema version, the stream it belongs to, and its JSON members.
// Every event carries project_id, and task_id when it concerns a task.
// A schema version is raised when a member's meaning changes; core/codec.cpp reads older payloads
// as the current version (the log is never rewritten). Version 2 of the lease events: the
// fingerprint of the lease's token (lease_id) instead of the token.
//
// Project stream (stream_id = project_id, stream_type "project"): the project itself, members,
// checkpoints and decisions. Task stream (stream_id = task_id, stream_type "task"): everything
// about one task, its artifacts, messages, gates, scope, git and usage included.
#pragma once

#include "core/fields.hpp"
#include "core/ids.hpp"
#include "core/project.hpp"
#include "core/records.hpp"
#include "core/task.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tasklog {

enum class StreamType { project, task };

std::string_view stream_type_name(StreamType type);

// ---- project stream ----

struct ProjectCreated {
  static constexpr std::string_view type_name = "ProjectCreated";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::project;
  Uuid project_id{};
  std::string name{};
  std::string description{};
  ProjectRules rules{};
  Uuid owner_id{};  // becomes the first member, with role owner

  static constexpr auto fields() {
    return std::tuple{req("project_id", &ProjectCreated::project_id), req("name", &ProjectCreated::name),
                      req("description", &ProjectCreated::description), req("rules", &ProjectCreated::rules),
                      req("owner_id", &ProjectCreated::owner_id)};
  }
  bool operator==(const ProjectCreated&) const = default;
};

struct ProjectUpdated {
  static constexpr std::string_view type_name = "ProjectUpdated";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::project;
  Uuid project_id{};
  std::optional<std::string> name{};  // absent members did not change
  std::optional<std::string> description{};
  std::optional<ProjectRules> rules{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &ProjectUpdated::project_id), opt("name", &ProjectUpdated::name),
                      opt("description", &ProjectUpdated::description), opt("rules", &ProjectUpdated::rules)};
  }
  bool operator==(const ProjectUpdated&) const = default;
};

struct ProjectArchived {
  static constexpr std::string_view type_name = "ProjectArchived";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::project;
  Uuid project_id{};
  std::string reason{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &ProjectArchived::project_id), req("reason", &ProjectArchived::reason)};
  }
  bool operator==(const ProjectArchived&) const = default;
};

// Adds a member, or changes the role of an existing one.
struct ProjectMemberAdded {
  static constexpr std::string_view type_name = "ProjectMemberAdded";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::project;
  Uuid project_id{};
  Uuid user_id{};
  Role role = Role::member;

  static constexpr auto fields() {
    return std::tuple{req("project_id", &ProjectMemberAdded::project_id), req("user_id", &ProjectMemberAdded::user_id),
                      req("role", &ProjectMemberAdded::role)};
  }
  bool operator==(const ProjectMemberAdded&) const = default;
};

struct ProjectMemberRemoved {
  static constexpr std::string_view type_name = "ProjectMemberRemoved";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::project;
  Uuid project_id{};
  Uuid user_id{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &ProjectMemberRemoved::project_id),
                      req("user_id", &ProjectMemberRemoved::user_id)};
  }
  bool operator==(const ProjectMemberRemoved&) const = default;
};

struct CheckpointCreated {
  static constexpr std::string_view type_name = "CheckpointCreated";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::project;
  Uuid project_id{};
  Uuid checkpoint_id{};
  std::optional<Uuid> task_id{};
  std::string label{};
  std::string summary{};
  std::string repo_ref{};
  std::string resume_instructions{};
  std::int64_t log_position = 0;          // the log's head when it was taken
  std::vector<TaskStatusSnapshot> tasks{};  // every task of the project at that head

  static constexpr auto fields() {
    return std::tuple{req("project_id", &CheckpointCreated::project_id),
                      req("checkpoint_id", &CheckpointCreated::checkpoint_id), opt("task_id", &CheckpointCreated::task_id),
                      req("label", &CheckpointCreated::label), req("summary", &CheckpointCreated::summary),
                      req("repo_ref", &CheckpointCreated::repo_ref),
                      req("resume_instructions", &CheckpointCreated::resume_instructions),
                      req("log_position", &CheckpointCreated::log_position), req("tasks", &CheckpointCreated::tasks)};
  }
  bool operator==(const CheckpointCreated&) const = default;
};

struct DecisionRecorded {
  static constexpr std::string_view type_name = "DecisionRecorded";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::project;
  Uuid project_id{};
  Uuid decision_id{};
  std::optional<Uuid> task_id{};
  std::string title{};
  std::vector<std::string> options{};
  std::string choice{};
  std::string rationale{};
  std::optional<Uuid> supersedes{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &DecisionRecorded::project_id), req("decision_id", &DecisionRecorded::decision_id),
                      opt("task_id", &DecisionRecorded::task_id), req("title", &DecisionRecorded::title),
                      req("options", &DecisionRecorded::options), req("choice", &DecisionRecorded::choice),
                      req("rationale", &DecisionRecorded::rationale), opt("supersedes", &DecisionRecorded::supersedes)};
  }
  bool operator==(const DecisionRecorded&) const = default;
};

// Follows the DecisionRecorded that replaces decision_id, in the same command.
struct DecisionSuperseded {
  static constexpr std::string_view type_name = "DecisionSuperseded";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::project;
  Uuid project_id{};
  Uuid decision_id{};
  Uuid superseded_by{};
  std::optional<Uuid> task_id{};  // the superseded decision's task, if any

  static constexpr auto fields() {
    return std::tuple{req("project_id", &DecisionSuperseded::project_id),
                      req("decision_id", &DecisionSuperseded::decision_id),
                      req("superseded_by", &DecisionSuperseded::superseded_by), opt("task_id", &DecisionSuperseded::task_id)};
  }
  bool operator==(const DecisionSuperseded&) const = default;
};

// ---- task stream ----

struct TaskCreated {
  static constexpr std::string_view type_name = "TaskCreated";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::string title{};
  std::string description{};
  std::string type{};
  Priority priority = Priority::medium;
  std::vector<std::string> acceptance_criteria{};
  std::vector<std::string> constraints{};
  std::vector<Uuid> dependencies{};
  std::optional<Uuid> parent_task_id{};
  std::optional<std::int64_t> timebox_seconds{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskCreated::project_id), req("task_id", &TaskCreated::task_id),
                      req("title", &TaskCreated::title), req("description", &TaskCreated::description),
                      req("type", &TaskCreated::type), req("priority", &TaskCreated::priority),
                      req("acceptance_criteria", &TaskCreated::acceptance_criteria),
                      req("constraints", &TaskCreated::constraints), req("dependencies", &TaskCreated::dependencies),
                      opt("parent_task_id", &TaskCreated::parent_task_id),
                      opt("timebox_seconds", &TaskCreated::timebox_seconds)};
  }
  bool operator==(const TaskCreated&) const = default;
};

// Absent members did not change. New acceptance criteria start unmet.
struct TaskUpdated {
  static constexpr std::string_view type_name = "TaskUpdated";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::optional<std::string> title{};
  std::optional<std::string> description{};
  std::optional<std::string> type{};
  std::optional<Priority> priority{};
  std::optional<std::vector<std::string>> acceptance_criteria{};
  std::optional<std::vector<std::string>> constraints{};
  std::optional<std::int64_t> timebox_seconds{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskUpdated::project_id), req("task_id", &TaskUpdated::task_id),
                      opt("title", &TaskUpdated::title), opt("description", &TaskUpdated::description),
                      opt("type", &TaskUpdated::type), opt("priority", &TaskUpdated::priority),
                      opt("acceptance_criteria", &TaskUpdated::acceptance_criteria),
                      opt("constraints", &TaskUpdated::constraints), opt("timebox_seconds", &TaskUpdated::timebox_seconds)};
  }
  bool operator==(const TaskUpdated&) const = default;
};

struct TaskDependencyAdded {
  static constexpr std::string_view type_name = "TaskDependencyAdded";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid depends_on{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskDependencyAdded::project_id), req("task_id", &TaskDependencyAdded::task_id),
                      req("depends_on", &TaskDependencyAdded::depends_on)};
  }
  bool operator==(const TaskDependencyAdded&) const = default;
};

struct TaskDependencyRemoved {
  static constexpr std::string_view type_name = "TaskDependencyRemoved";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid depends_on{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskDependencyRemoved::project_id),
                      req("task_id", &TaskDependencyRemoved::task_id), req("depends_on", &TaskDependencyRemoved::depends_on)};
  }
  bool operator==(const TaskDependencyRemoved&) const = default;
};

struct TaskClaimed {
  static constexpr std::string_view type_name = "TaskClaimed";
  static constexpr int schema_version = 2;  // 1: "lease_token", the holder's token (core/codec.cpp upgrades it)
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::string agent{};
  Uuid lease_id{};  // lease_id_of(the lease's token), never the token itself
  Timestamp expires_at{};
  std::int64_t attempt = 1;

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskClaimed::project_id), req("task_id", &TaskClaimed::task_id),
                      req("agent", &TaskClaimed::agent), req("lease_id", &TaskClaimed::lease_id),
                      req("expires_at", &TaskClaimed::expires_at), req("attempt", &TaskClaimed::attempt)};
  }
  bool operator==(const TaskClaimed&) const = default;
};

// A heartbeat: the holder's lease now runs until expires_at.
struct TaskLeaseExtended {
  static constexpr std::string_view type_name = "TaskLeaseExtended";
  static constexpr int schema_version = 2;  // 1: "lease_token", the holder's token (core/codec.cpp upgrades it)
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid lease_id{};  // lease_id_of(the lease's token), never the token itself
  Timestamp expires_at{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskLeaseExtended::project_id), req("task_id", &TaskLeaseExtended::task_id),
                      req("lease_id", &TaskLeaseExtended::lease_id),
                      req("expires_at", &TaskLeaseExtended::expires_at)};
  }
  bool operator==(const TaskLeaseExtended&) const = default;
};

// The holder gave the task back; no attempt is counted.
struct TaskReleased {
  static constexpr std::string_view type_name = "TaskReleased";
  static constexpr int schema_version = 2;  // 1: "lease_token", the holder's token (core/codec.cpp upgrades it)
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid lease_id{};  // lease_id_of(the lease's token), never the token itself
  std::string reason{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskReleased::project_id), req("task_id", &TaskReleased::task_id),
                      req("lease_id", &TaskReleased::lease_id), req("reason", &TaskReleased::reason)};
  }
  bool operator==(const TaskReleased&) const = default;
};

struct TaskBlocked {
  static constexpr std::string_view type_name = "TaskBlocked";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::string reason{};
  bool needs_human = false;

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskBlocked::project_id), req("task_id", &TaskBlocked::task_id),
                      req("reason", &TaskBlocked::reason), req("needs_human", &TaskBlocked::needs_human)};
  }
  bool operator==(const TaskBlocked&) const = default;
};

struct TaskUnblocked {
  static constexpr std::string_view type_name = "TaskUnblocked";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::string note{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskUnblocked::project_id), req("task_id", &TaskUnblocked::task_id),
                      req("note", &TaskUnblocked::note)};
  }
  bool operator==(const TaskUnblocked&) const = default;
};

struct TaskCriterionMet {
  static constexpr std::string_view type_name = "TaskCriterionMet";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::int64_t index = 0;  // into acceptance_criteria, 0-based
  std::string evidence{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskCriterionMet::project_id), req("task_id", &TaskCriterionMet::task_id),
                      req("index", &TaskCriterionMet::index), req("evidence", &TaskCriterionMet::evidence)};
  }
  bool operator==(const TaskCriterionMet&) const = default;
};

struct TaskGatesEvaluated {
  static constexpr std::string_view type_name = "TaskGatesEvaluated";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::vector<GateResult> results{};
  bool passed = false;  // every gate passed

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskGatesEvaluated::project_id), req("task_id", &TaskGatesEvaluated::task_id),
                      req("results", &TaskGatesEvaluated::results), req("passed", &TaskGatesEvaluated::passed)};
  }
  bool operator==(const TaskGatesEvaluated&) const = default;
};

struct TaskScopeAsserted {
  static constexpr std::string_view type_name = "TaskScopeAsserted";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::vector<std::string> files_changed{};
  std::vector<std::string> files_added{};
  std::vector<std::string> files_deleted{};
  bool in_scope = true;
  std::vector<ScopeViolation> violations{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskScopeAsserted::project_id), req("task_id", &TaskScopeAsserted::task_id),
                      req("files_changed", &TaskScopeAsserted::files_changed),
                      req("files_added", &TaskScopeAsserted::files_added),
                      req("files_deleted", &TaskScopeAsserted::files_deleted),
                      req("in_scope", &TaskScopeAsserted::in_scope), req("violations", &TaskScopeAsserted::violations)};
  }
  bool operator==(const TaskScopeAsserted&) const = default;
};

struct TaskCompleted {
  static constexpr std::string_view type_name = "TaskCompleted";
  static constexpr int schema_version = 2;  // 1: "lease_token", the holder's token (core/codec.cpp upgrades it)
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid lease_id{};  // lease_id_of(the lease's token), never the token itself
  std::string summary{};
  std::vector<Uuid> artifact_ids{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskCompleted::project_id), req("task_id", &TaskCompleted::task_id),
                      req("lease_id", &TaskCompleted::lease_id), req("summary", &TaskCompleted::summary),
                      req("artifact_ids", &TaskCompleted::artifact_ids)};
  }
  bool operator==(const TaskCompleted&) const = default;
};

// The holder reported failure. Either a retry is scheduled (retry_at) or, with gave_up, the task
// has used max_attempts and is failed.
struct TaskAttemptFailed {
  static constexpr std::string_view type_name = "TaskAttemptFailed";
  static constexpr int schema_version = 2;  // 1: "lease_token", the holder's token (core/codec.cpp upgrades it)
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid lease_id{};  // lease_id_of(the lease's token), never the token itself
  std::string error{};
  std::int64_t attempt = 1;  // the attempt that failed; the task's attempts become this
  std::optional<Timestamp> retry_at{};
  bool gave_up = false;

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskAttemptFailed::project_id), req("task_id", &TaskAttemptFailed::task_id),
                      req("lease_id", &TaskAttemptFailed::lease_id), req("error", &TaskAttemptFailed::error),
                      req("attempt", &TaskAttemptFailed::attempt), opt("retry_at", &TaskAttemptFailed::retry_at),
                      req("gave_up", &TaskAttemptFailed::gave_up)};
  }
  bool operator==(const TaskAttemptFailed&) const = default;
};

// Appended by the reaper for a lease past its time. The attempt counts as failed; the task is
// ready again at once (the holder vanished, nothing to back off from) unless it gave up.
struct TaskLeaseExpired {
  static constexpr std::string_view type_name = "TaskLeaseExpired";
  static constexpr int schema_version = 2;  // 1: "lease_token", the holder's token (core/codec.cpp upgrades it)
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid lease_id{};  // lease_id_of(the lease's token), never the token itself
  std::string agent{};
  Timestamp expired_at{};  // the lease's expires_at
  std::int64_t attempt = 1;
  bool gave_up = false;

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskLeaseExpired::project_id), req("task_id", &TaskLeaseExpired::task_id),
                      req("lease_id", &TaskLeaseExpired::lease_id), req("agent", &TaskLeaseExpired::agent),
                      req("expired_at", &TaskLeaseExpired::expired_at), req("attempt", &TaskLeaseExpired::attempt),
                      req("gave_up", &TaskLeaseExpired::gave_up)};
  }
  bool operator==(const TaskLeaseExpired&) const = default;
};

struct TaskCancelled {
  static constexpr std::string_view type_name = "TaskCancelled";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::string reason{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskCancelled::project_id), req("task_id", &TaskCancelled::task_id),
                      req("reason", &TaskCancelled::reason)};
  }
  bool operator==(const TaskCancelled&) const = default;
};

// Back to todo with a fresh attempt budget; gate results, failure and completion are cleared.
struct TaskReopened {
  static constexpr std::string_view type_name = "TaskReopened";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::string reason{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskReopened::project_id), req("task_id", &TaskReopened::task_id),
                      req("reason", &TaskReopened::reason)};
  }
  bool operator==(const TaskReopened&) const = default;
};

struct TaskMessageAppended {
  static constexpr std::string_view type_name = "TaskMessageAppended";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid message_id{};
  MessageRole role = MessageRole::user;
  std::string content{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskMessageAppended::project_id), req("task_id", &TaskMessageAppended::task_id),
                      req("message_id", &TaskMessageAppended::message_id), req("role", &TaskMessageAppended::role),
                      req("content", &TaskMessageAppended::content)};
  }
  bool operator==(const TaskMessageAppended&) const = default;
};

// Members present overwrite the task's git info; absent ones keep theirs.
struct TaskGitInfoRecorded {
  static constexpr std::string_view type_name = "TaskGitInfoRecorded";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  GitInfo git{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskGitInfoRecorded::project_id), req("task_id", &TaskGitInfoRecorded::task_id),
                      req("git", &TaskGitInfoRecorded::git)};
  }
  bool operator==(const TaskGitInfoRecorded&) const = default;
};

// Adds to the task's running totals.
struct TaskUsageRecorded {
  static constexpr std::string_view type_name = "TaskUsageRecorded";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  std::int64_t tokens = 0;
  double cost_usd = 0.0;

  static constexpr auto fields() {
    return std::tuple{req("project_id", &TaskUsageRecorded::project_id), req("task_id", &TaskUsageRecorded::task_id),
                      req("tokens", &TaskUsageRecorded::tokens), req("cost_usd", &TaskUsageRecorded::cost_usd)};
  }
  bool operator==(const TaskUsageRecorded&) const = default;
};

struct ArtifactAppended {
  static constexpr std::string_view type_name = "ArtifactAppended";
  static constexpr int schema_version = 1;
  static constexpr StreamType stream = StreamType::task;
  Uuid project_id{};
  Uuid task_id{};
  Uuid artifact_id{};
  ArtifactType type = ArtifactType::other;
  std::string ref{};
  std::string summary{};
  std::optional<std::string> content{};
  std::int64_t content_bytes = 0;

  static constexpr auto fields() {
    return std::tuple{req("project_id", &ArtifactAppended::project_id), req("task_id", &ArtifactAppended::task_id),
                      req("artifact_id", &ArtifactAppended::artifact_id), req("type", &ArtifactAppended::type),
                      req("ref", &ArtifactAppended::ref), req("summary", &ArtifactAppended::summary),
                      opt("content", &ArtifactAppended::content), req("content_bytes", &ArtifactAppended::content_bytes)};
  }
  bool operator==(const ArtifactAppended&) const = default;
};

using DomainEvent =
    std::variant<ProjectCreated, ProjectUpdated, ProjectArchived, ProjectMemberAdded, ProjectMemberRemoved,
                 CheckpointCreated, DecisionRecorded, DecisionSuperseded, TaskCreated, TaskUpdated, TaskDependencyAdded,
                 TaskDependencyRemoved, TaskClaimed, TaskLeaseExtended, TaskReleased, TaskBlocked, TaskUnblocked,
                 TaskCriterionMet, TaskGatesEvaluated, TaskScopeAsserted, TaskCompleted, TaskAttemptFailed,
                 TaskLeaseExpired, TaskCancelled, TaskReopened, TaskMessageAppended, TaskGitInfoRecorded,
                 TaskUsageRecorded, ArtifactAppended>;

template <class E>
concept ProjectStreamEvent = E::stream == StreamType::project;
template <class E>
concept TaskStreamEvent = E::stream == StreamType::task;

// Where an event is appended and how its row is labelled in the log.
struct EventRoute {
  Uuid stream_id{};
  StreamType stream_type = StreamType::task;
  Uuid project_id{};
  std::optional<Uuid> task_id{};

  bool operator==(const EventRoute&) const = default;
};

EventRoute route(const DomainEvent& event);
std::string_view event_type_name(const DomainEvent& event);
int event_schema_version(const DomainEvent& event);

}  // namespace tasklog
