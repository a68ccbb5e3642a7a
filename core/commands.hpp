// The commands: what a client asks the domain to do, as value types. `name` is the command's
// stable name (the MCP tool name, the schema's key); fields() is its JSON input, which
// command_schema(name) describes and parse_command() reads.
//
// lease_token: the holder of a lease must pass it on every command (fencing). Where it is
// optional, a command without one is accepted only while nobody holds a live lease, so a person
// can act on an idle task but a stale agent cannot overwrite a newer one.
#pragma once

#include "core/chooser.hpp"
#include "core/fields.hpp"
#include "core/ids.hpp"
#include "core/project.hpp"
#include "core/records.hpp"
#include "core/task.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tasklog {

// ---- projects ----

struct CreateProject {
  static constexpr std::string_view name = "create_project";
  std::string project_name{};
  std::string description{};
  ProjectRules rules{};

  static constexpr auto fields() {
    return std::tuple{req("name", &CreateProject::project_name), opt("description", &CreateProject::description),
                      opt("rules", &CreateProject::rules)};
  }
  bool operator==(const CreateProject&) const = default;
};

struct UpdateProject {
  static constexpr std::string_view name = "update_project";
  Uuid project_id{};
  std::optional<std::string> project_name{};
  std::optional<std::string> description{};
  std::optional<ProjectRulesPatch> rules{};  // merged into the project's rules (ProjectRulesPatch)

  static constexpr auto fields() {
    return std::tuple{req("project_id", &UpdateProject::project_id), opt("name", &UpdateProject::project_name),
                      opt("description", &UpdateProject::description), opt("rules", &UpdateProject::rules)};
  }
  bool operator==(const UpdateProject&) const = default;
};

struct ArchiveProject {
  static constexpr std::string_view name = "archive_project";
  Uuid project_id{};
  std::string reason{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &ArchiveProject::project_id), opt("reason", &ArchiveProject::reason)};
  }
  bool operator==(const ArchiveProject&) const = default;
};

// Adds a member, or changes an existing member's role.
struct AddMember {
  static constexpr std::string_view name = "add_member";
  Uuid project_id{};
  Uuid user_id{};
  Role role = Role::member;

  static constexpr auto fields() {
    return std::tuple{req("project_id", &AddMember::project_id), req("user_id", &AddMember::user_id),
                      req("role", &AddMember::role)};
  }
  bool operator==(const AddMember&) const = default;
};

struct RemoveMember {
  static constexpr std::string_view name = "remove_member";
  Uuid project_id{};
  Uuid user_id{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &RemoveMember::project_id), req("user_id", &RemoveMember::user_id)};
  }
  bool operator==(const RemoveMember&) const = default;
};

// ---- tasks ----

struct CreateTask {
  static constexpr std::string_view name = "create_task";
  Uuid project_id{};
  std::string title{};
  std::string description{};
  std::string type = "task";
  Priority priority = Priority::medium;
  std::vector<std::string> acceptance_criteria{};
  std::vector<std::string> constraints{};
  std::vector<Uuid> dependencies{};
  std::optional<Uuid> parent_task_id{};
  std::optional<std::int64_t> timebox_seconds{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &CreateTask::project_id), req("title", &CreateTask::title),
                      opt("description", &CreateTask::description), opt("type", &CreateTask::type),
                      opt("priority", &CreateTask::priority), opt("acceptance_criteria", &CreateTask::acceptance_criteria),
                      opt("constraints", &CreateTask::constraints), opt("dependencies", &CreateTask::dependencies),
                      opt("parent_task_id", &CreateTask::parent_task_id),
                      opt("timebox_seconds", &CreateTask::timebox_seconds)};
  }
  bool operator==(const CreateTask&) const = default;
};

struct UpdateTask {
  static constexpr std::string_view name = "update_task";
  Uuid task_id{};
  std::optional<std::string> title{};
  std::optional<std::string> description{};
  std::optional<std::string> type{};
  std::optional<Priority> priority{};
  std::optional<std::vector<std::string>> acceptance_criteria{};  // replaces them all; met flags reset
  std::optional<std::vector<std::string>> constraints{};
  std::optional<std::int64_t> timebox_seconds{};
  std::optional<Uuid> lease_token{};  // required while the task is held: its holder's work is fenced

  static constexpr auto fields() {
    return std::tuple{req("task_id", &UpdateTask::task_id), opt("title", &UpdateTask::title),
                      opt("description", &UpdateTask::description), opt("type", &UpdateTask::type),
                      opt("priority", &UpdateTask::priority), opt("acceptance_criteria", &UpdateTask::acceptance_criteria),
                      opt("constraints", &UpdateTask::constraints), opt("timebox_seconds", &UpdateTask::timebox_seconds),
                      opt("lease_token", &UpdateTask::lease_token)};
  }
  bool operator==(const UpdateTask&) const = default;
};

struct AddDependency {
  static constexpr std::string_view name = "add_dependency";
  Uuid task_id{};
  Uuid depends_on{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &AddDependency::task_id), req("depends_on", &AddDependency::depends_on)};
  }
  bool operator==(const AddDependency&) const = default;
};

struct RemoveDependency {
  static constexpr std::string_view name = "remove_dependency";
  Uuid task_id{};
  Uuid depends_on{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &RemoveDependency::task_id), req("depends_on", &RemoveDependency::depends_on)};
  }
  bool operator==(const RemoveDependency&) const = default;
};

struct ClaimTask {
  static constexpr std::string_view name = "claim_task";
  Uuid task_id{};
  std::string agent{};
  std::optional<std::int64_t> lease_seconds{};  // default: the project's default_lease_seconds

  static constexpr auto fields() {
    return std::tuple{req("task_id", &ClaimTask::task_id), req("agent", &ClaimTask::agent),
                      opt("lease_seconds", &ClaimTask::lease_seconds)};
  }
  bool operator==(const ClaimTask&) const = default;
};

struct PickNextTask {
  static constexpr std::string_view name = "pick_next_task";
  Uuid project_id{};
  std::string agent{};
  PickStrategy strategy = PickStrategy::priority;
  std::optional<std::int64_t> lease_seconds{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &PickNextTask::project_id), req("agent", &PickNextTask::agent),
                      opt("strategy", &PickNextTask::strategy), opt("lease_seconds", &PickNextTask::lease_seconds)};
  }
  bool operator==(const PickNextTask&) const = default;
};

struct Heartbeat {
  static constexpr std::string_view name = "heartbeat";
  Uuid task_id{};
  Uuid lease_token{};
  std::optional<std::int64_t> lease_seconds{};  // default: the project's default_lease_seconds

  static constexpr auto fields() {
    return std::tuple{req("task_id", &Heartbeat::task_id), req("lease_token", &Heartbeat::lease_token),
                      opt("lease_seconds", &Heartbeat::lease_seconds)};
  }
  bool operator==(const Heartbeat&) const = default;
};

struct ReleaseTask {
  static constexpr std::string_view name = "release_task";
  Uuid task_id{};
  Uuid lease_token{};
  std::string reason{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &ReleaseTask::task_id), req("lease_token", &ReleaseTask::lease_token),
                      opt("reason", &ReleaseTask::reason)};
  }
  bool operator==(const ReleaseTask&) const = default;
};

struct BlockTask {
  static constexpr std::string_view name = "block_task";
  Uuid task_id{};
  std::string reason{};
  bool needs_human = false;
  std::optional<Uuid> lease_token{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &BlockTask::task_id), req("reason", &BlockTask::reason),
                      opt("needs_human", &BlockTask::needs_human), opt("lease_token", &BlockTask::lease_token)};
  }
  bool operator==(const BlockTask&) const = default;
};

struct UnblockTask {
  static constexpr std::string_view name = "unblock_task";
  Uuid task_id{};
  std::string note{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &UnblockTask::task_id), opt("note", &UnblockTask::note)};
  }
  bool operator==(const UnblockTask&) const = default;
};

struct MarkCriterionMet {
  static constexpr std::string_view name = "mark_criterion_met";
  Uuid task_id{};
  std::int64_t index = 0;
  std::string evidence{};
  std::optional<Uuid> lease_token{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &MarkCriterionMet::task_id), req("index", &MarkCriterionMet::index),
                      req("evidence", &MarkCriterionMet::evidence), opt("lease_token", &MarkCriterionMet::lease_token)};
  }
  bool operator==(const MarkCriterionMet&) const = default;
};

struct EvaluateGates {
  static constexpr std::string_view name = "evaluate_gates";
  Uuid task_id{};
  std::vector<std::string> custom_passed{};  // custom gates the agent reports passed
  std::optional<Uuid> lease_token{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &EvaluateGates::task_id), opt("custom_passed", &EvaluateGates::custom_passed),
                      opt("lease_token", &EvaluateGates::lease_token)};
  }
  bool operator==(const EvaluateGates&) const = default;
};

struct AssertScope {
  static constexpr std::string_view name = "assert_scope";
  Uuid task_id{};
  std::vector<std::string> files_changed{};
  std::vector<std::string> files_added{};
  std::vector<std::string> files_deleted{};
  std::optional<Uuid> lease_token{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &AssertScope::task_id), opt("files_changed", &AssertScope::files_changed),
                      opt("files_added", &AssertScope::files_added), opt("files_deleted", &AssertScope::files_deleted),
                      opt("lease_token", &AssertScope::lease_token)};
  }
  bool operator==(const AssertScope&) const = default;
};

struct CompleteTask {
  static constexpr std::string_view name = "complete_task";
  Uuid task_id{};
  Uuid lease_token{};
  std::string summary{};
  std::vector<Uuid> artifact_ids{};  // artifacts of this task that make up the result

  static constexpr auto fields() {
    return std::tuple{req("task_id", &CompleteTask::task_id), req("lease_token", &CompleteTask::lease_token),
                      req("summary", &CompleteTask::summary), opt("artifact_ids", &CompleteTask::artifact_ids)};
  }
  bool operator==(const CompleteTask&) const = default;
};

struct FailTask {
  static constexpr std::string_view name = "fail_task";
  Uuid task_id{};
  Uuid lease_token{};
  std::string error{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &FailTask::task_id), req("lease_token", &FailTask::lease_token),
                      req("error", &FailTask::error)};
  }
  bool operator==(const FailTask&) const = default;
};

// The reaper's command: a lease that is past its time is given up. It names the lease by its id
// (Lease::id, as the row holds it): the reaper never knows a token.
struct ExpireLease {
  static constexpr std::string_view name = "expire_lease";
  Uuid task_id{};
  Uuid lease_id{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &ExpireLease::task_id), req("lease_id", &ExpireLease::lease_id)};
  }
  bool operator==(const ExpireLease&) const = default;
};

struct CancelTask {
  static constexpr std::string_view name = "cancel_task";
  Uuid task_id{};
  std::string reason{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &CancelTask::task_id), opt("reason", &CancelTask::reason)};
  }
  bool operator==(const CancelTask&) const = default;
};

struct ReopenTask {
  static constexpr std::string_view name = "reopen_task";
  Uuid task_id{};
  std::string reason{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &ReopenTask::task_id), opt("reason", &ReopenTask::reason)};
  }
  bool operator==(const ReopenTask&) const = default;
};

struct AppendMessage {
  static constexpr std::string_view name = "append_message";
  Uuid task_id{};
  MessageRole role = MessageRole::user;
  std::string content{};
  std::optional<Uuid> lease_token{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &AppendMessage::task_id), req("role", &AppendMessage::role),
                      req("content", &AppendMessage::content), opt("lease_token", &AppendMessage::lease_token)};
  }
  bool operator==(const AppendMessage&) const = default;
};

struct RecordGitInfo {
  static constexpr std::string_view name = "record_git_info";
  Uuid task_id{};
  GitInfo git{};
  std::optional<Uuid> lease_token{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &RecordGitInfo::task_id), req("git", &RecordGitInfo::git),
                      opt("lease_token", &RecordGitInfo::lease_token)};
  }
  bool operator==(const RecordGitInfo&) const = default;
};

struct RecordUsage {
  static constexpr std::string_view name = "record_usage";
  Uuid task_id{};
  std::int64_t tokens = 0;
  double cost_usd = 0.0;
  std::optional<Uuid> lease_token{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &RecordUsage::task_id), req("tokens", &RecordUsage::tokens),
                      opt("cost_usd", &RecordUsage::cost_usd), opt("lease_token", &RecordUsage::lease_token)};
  }
  bool operator==(const RecordUsage&) const = default;
};

struct AppendArtifact {
  static constexpr std::string_view name = "append_artifact";
  Uuid task_id{};
  ArtifactType type = ArtifactType::other;
  std::string ref{};
  std::string summary{};
  std::optional<std::string> content{};  // at most kMaxArtifactContentBytes
  std::optional<Uuid> lease_token{};

  static constexpr auto fields() {
    return std::tuple{req("task_id", &AppendArtifact::task_id), req("type", &AppendArtifact::type),
                      opt("ref", &AppendArtifact::ref), req("summary", &AppendArtifact::summary),
                      opt("content", &AppendArtifact::content), opt("lease_token", &AppendArtifact::lease_token)};
  }
  bool operator==(const AppendArtifact&) const = default;
};

// ---- project memory ----

struct CreateCheckpoint {
  static constexpr std::string_view name = "create_checkpoint";
  Uuid project_id{};
  std::optional<Uuid> task_id{};
  std::string label{};
  std::string summary{};
  std::string repo_ref{};
  std::string resume_instructions{};

  static constexpr auto fields() {
    return std::tuple{req("project_id", &CreateCheckpoint::project_id), opt("task_id", &CreateCheckpoint::task_id),
                      req("label", &CreateCheckpoint::label), req("summary", &CreateCheckpoint::summary),
                      opt("repo_ref", &CreateCheckpoint::repo_ref),
                      opt("resume_instructions", &CreateCheckpoint::resume_instructions)};
  }
  bool operator==(const CreateCheckpoint&) const = default;
};

struct RecordDecision {
  static constexpr std::string_view name = "record_decision";
  Uuid project_id{};
  std::optional<Uuid> task_id{};
  std::string title{};
  std::vector<std::string> options{};
  std::string choice{};  // one of options, when options are given
  std::string rationale{};
  std::optional<Uuid> supersedes{};  // an earlier decision of the project that this one replaces

  static constexpr auto fields() {
    return std::tuple{req("project_id", &RecordDecision::project_id), opt("task_id", &RecordDecision::task_id),
                      req("title", &RecordDecision::title), opt("options", &RecordDecision::options),
                      req("choice", &RecordDecision::choice), req("rationale", &RecordDecision::rationale),
                      opt("supersedes", &RecordDecision::supersedes)};
  }
  bool operator==(const RecordDecision&) const = default;
};

using Command =
    std::variant<CreateProject, UpdateProject, ArchiveProject, AddMember, RemoveMember, CreateTask, UpdateTask,
                 AddDependency, RemoveDependency, ClaimTask, PickNextTask, Heartbeat, ReleaseTask, BlockTask,
                 UnblockTask, MarkCriterionMet, EvaluateGates, AssertScope, CompleteTask, FailTask, ExpireLease,
                 CancelTask, ReopenTask, AppendMessage, RecordGitInfo, RecordUsage, AppendArtifact, CreateCheckpoint,
                 RecordDecision>;

std::string_view command_name(const Command& command);

}  // namespace tasklog
