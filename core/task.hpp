// A task as the domain and the `tasks` read model see it: status, lease, attempts, acceptance
// criteria, gates, scope, git and usage. TaskState is the read-model row (plus its
// `task_dependencies` edges); evolve() builds it, decide() reads it.
#pragma once

#include "core/enum_names.hpp"
#include "core/fields.hpp"
#include "core/ids.hpp"
#include "core/project.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tasklog {

enum class TaskStatus { todo, in_progress, blocked, done, failed, cancelled };

template <>
struct EnumNames<TaskStatus> {
  static constexpr std::string_view schema_type = "task_status";
  static constexpr std::pair<TaskStatus, std::string_view> values[] = {
      {TaskStatus::todo, "todo"},
      {TaskStatus::in_progress, "in_progress"},
      {TaskStatus::blocked, "blocked"},
      {TaskStatus::done, "done"},
      {TaskStatus::failed, "failed"},
      {TaskStatus::cancelled, "cancelled"}};
};

// done, failed and cancelled: only reopen leaves them.
bool is_terminal(TaskStatus status);

// Declared low to high: comparisons order by urgency.
enum class Priority { low, medium, high, critical };

template <>
struct EnumNames<Priority> {
  static constexpr std::string_view schema_type = "priority";
  static constexpr std::pair<Priority, std::string_view> values[] = {
      {Priority::low, "low"},
      {Priority::medium, "medium"},
      {Priority::high, "high"},
      {Priority::critical, "critical"}};
};

enum class ArtifactType { diff, pr, test_report, document, other };

template <>
struct EnumNames<ArtifactType> {
  static constexpr std::string_view schema_type = "artifact_type";
  static constexpr std::pair<ArtifactType, std::string_view> values[] = {
      {ArtifactType::diff, "diff"},
      {ArtifactType::pr, "pr"},
      {ArtifactType::test_report, "test_report"},
      {ArtifactType::document, "document"},
      {ArtifactType::other, "other"}};
};

// The right to work on a task until expires_at. Every command of the holder carries the lease's
// token; any other token is stale (fencing). The lease keeps only the token's fingerprint, its
// `id` (lease_id_of): events, rows and the log are readable by every member of the project, and a
// token found there would let any of them act as the holder.
struct Lease {
  Uuid id{};  // lease_id_of(the holder's token)
  std::string agent{};
  Timestamp acquired_at{};
  Timestamp expires_at{};
  std::int64_t attempt = 1;  // 1-based number of the attempt this lease is for

  static constexpr auto fields() {
    return std::tuple{req("id", &Lease::id), req("agent", &Lease::agent), req("acquired_at", &Lease::acquired_at),
                      req("expires_at", &Lease::expires_at), req("attempt", &Lease::attempt)};
  }
  bool operator==(const Lease&) const = default;
};

// A lease token's fingerprint: the first 16 bytes of SHA-256 over the token's 16 bytes, as a UUID.
// One-way, so the log can name a lease (which claim a completion ended) without carrying what
// proves the right to act on it.
Uuid lease_id_of(const Uuid& token);

struct AcceptanceCriterion {
  std::string text{};
  bool met = false;
  std::string evidence{};
  std::optional<Timestamp> met_at{};

  static constexpr auto fields() {
    return std::tuple{req("text", &AcceptanceCriterion::text), req("met", &AcceptanceCriterion::met),
                      opt("evidence", &AcceptanceCriterion::evidence), opt("met_at", &AcceptanceCriterion::met_at)};
  }
  bool operator==(const AcceptanceCriterion&) const = default;
};

struct GitInfo {
  std::optional<std::string> branch{};
  std::optional<std::string> target_branch{};
  std::optional<std::int64_t> pr_number{};
  std::optional<std::string> pr_url{};
  std::optional<std::string> commit_hash{};

  static constexpr auto fields() {
    return std::tuple{opt("branch", &GitInfo::branch), opt("target_branch", &GitInfo::target_branch),
                      opt("pr_number", &GitInfo::pr_number), opt("pr_url", &GitInfo::pr_url),
                      opt("commit_hash", &GitInfo::commit_hash)};
  }
  bool operator==(const GitInfo&) const = default;
};

struct Usage {
  std::int64_t tokens = 0;
  double cost_usd = 0.0;

  static constexpr auto fields() { return std::tuple{req("tokens", &Usage::tokens), req("cost_usd", &Usage::cost_usd)}; }
  bool operator==(const Usage&) const = default;
};

struct GateResult {
  std::string gate{};  // Gate::label()
  GateKind kind = GateKind::custom;
  bool passed = false;
  std::string detail{};  // why, for a person: "2 of 3 artifacts", "criterion 1 not met"

  static constexpr auto fields() {
    return std::tuple{req("gate", &GateResult::gate), req("kind", &GateResult::kind), req("passed", &GateResult::passed),
                      req("detail", &GateResult::detail)};
  }
  bool operator==(const GateResult&) const = default;
};

enum class ScopeViolationReason { forbidden, outside_allowed, invalid_path };

template <>
struct EnumNames<ScopeViolationReason> {
  static constexpr std::string_view schema_type = "scope_violation_reason";
  static constexpr std::pair<ScopeViolationReason, std::string_view> values[] = {
      {ScopeViolationReason::forbidden, "forbidden"},
      {ScopeViolationReason::outside_allowed, "outside_allowed"},
      {ScopeViolationReason::invalid_path, "invalid_path"}};
};

struct ScopeViolation {
  std::string path{};
  ScopeViolationReason reason = ScopeViolationReason::forbidden;
  std::string rule{};  // the forbidden glob that matched; empty for the other reasons

  static constexpr auto fields() {
    return std::tuple{req("path", &ScopeViolation::path), req("reason", &ScopeViolation::reason),
                      opt("rule", &ScopeViolation::rule)};
  }
  bool operator==(const ScopeViolation&) const = default;
};

struct ScopeCheck {
  bool in_scope = true;
  std::vector<ScopeViolation> violations{};
  std::int64_t files_checked = 0;
  Timestamp checked_at{};

  static constexpr auto fields() {
    return std::tuple{req("in_scope", &ScopeCheck::in_scope), req("violations", &ScopeCheck::violations),
                      req("files_checked", &ScopeCheck::files_checked), req("checked_at", &ScopeCheck::checked_at)};
  }
  bool operator==(const ScopeCheck&) const = default;
};

// The task's own view of its artifacts: enough for the gates and the artifact count/types
// columns; the artifacts themselves are ArtifactRow.
struct TaskArtifactRef {
  Uuid id{};
  ArtifactType type = ArtifactType::other;

  static constexpr auto fields() { return std::tuple{req("id", &TaskArtifactRef::id), req("type", &TaskArtifactRef::type)}; }
  bool operator==(const TaskArtifactRef&) const = default;
};

struct TaskState {
  Uuid id{};
  Uuid project_id{};
  std::string title{};
  std::string description{};
  std::string type{};
  Priority priority = Priority::medium;
  TaskStatus status = TaskStatus::todo;
  std::int64_t version = 0;  // version of the task stream's last event

  std::optional<Lease> lease{};                // present only while in_progress
  std::int64_t attempts = 0;                 // failed attempts (fail or lease expiry) since creation/reopen
  std::optional<Timestamp> next_retry_at{};    // not claimable before this, after a failed attempt

  std::vector<AcceptanceCriterion> acceptance_criteria{};
  std::vector<std::string> constraints{};
  std::vector<Uuid> dependencies{};  // tasks of the same project that must be done first
  std::optional<Uuid> parent_task_id{};
  std::optional<std::int64_t> timebox_seconds{};

  GitInfo git{};
  Usage usage{};
  std::vector<GateResult> gate_results{};  // of the last evaluation
  std::optional<Timestamp> gates_evaluated_at{};
  std::optional<ScopeCheck> last_scope_check{};
  std::vector<TaskArtifactRef> artifacts{};  // in order of appending
  std::int64_t message_count = 0;

  std::string completion_summary{};
  std::vector<Uuid> result_artifact_ids{};  // named by the completion
  std::optional<std::string> failure_reason{};  // last failed attempt's error (or "lease expired")
  std::optional<std::string> block_reason{};
  bool needs_human = false;
  std::optional<std::string> cancel_reason{};

  Uuid created_by{};
  Timestamp created_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> started_at{};    // first claim since creation/reopen
  std::optional<Timestamp> completed_at{};  // when it became done

  // A lease that exists and has not run out at `now`.
  bool has_live_lease(Timestamp now) const { return lease && lease->expires_at > now; }
  std::int64_t artifact_count(ArtifactType type) const;
  bool all_criteria_met() const;
  bool operator==(const TaskState&) const = default;
};

}  // namespace tasklog
