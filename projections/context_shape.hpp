// The shape of a project's context — what an agent reads before it works: the project, its tasks,
// the tasks being worked on (and by whom), the latest checkpoint and the recent decisions.
// project_context.cpp builds it in SQL from the read models (the hot path); time travel builds
// it here from an in-memory ProjectModel. Both return the same canonical JSON text for the same
// state, so a client can compare "now" with "as of position P" byte for byte.
//
// The shape is a set of field-table structs, so its JSON form (absent optional members are
// omitted, times in format_timestamp text) is the codec's and clients can read it back with
// from_json_value<ProjectContextView>.
#pragma once

#include "core/evolve.hpp"
#include "core/fields.hpp"
#include "events/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::projections {

// How many decisions, newest first, a context carries.
inline constexpr std::size_t kRecentDecisions = 10;

struct ContextOptions {
  std::size_t recent_decisions = kRecentDecisions;
};

struct ContextProject {
  Uuid id{};
  std::string name{};
  std::string description{};
  bool archived = false;
  std::int64_t version = 0;
  ProjectRules rules{};
  Timestamp updated_at{};

  static constexpr auto fields() {
    using P = ContextProject;
    return std::tuple{req("id", &P::id),         req("name", &P::name),   req("description", &P::description),
                      req("archived", &P::archived), req("version", &P::version), req("rules", &P::rules),
                      req("updated_at", &P::updated_at)};
  }
  bool operator==(const ContextProject&) const = default;
};

// Every task, summarised: enough to see the board and what waits on what. Ordered by
// (created_at, id).
struct ContextTask {
  Uuid id{};
  std::string title{};
  std::string type{};
  TaskStatus status = TaskStatus::todo;
  Priority priority = Priority::medium;
  std::int64_t version = 0;
  std::int64_t attempts = 0;
  std::optional<Timestamp> next_retry_at{};
  std::optional<Uuid> parent_task_id{};
  std::vector<Uuid> dependencies{};
  std::int64_t criteria_met = 0;
  std::int64_t criteria_total = 0;
  std::int64_t artifact_count = 0;
  std::optional<std::string> block_reason{};
  Timestamp updated_at{};

  static constexpr auto fields() {
    using T = ContextTask;
    return std::tuple{req("id", &T::id),
                      req("title", &T::title),
                      req("type", &T::type),
                      req("status", &T::status),
                      req("priority", &T::priority),
                      req("version", &T::version),
                      req("attempts", &T::attempts),
                      opt("next_retry_at", &T::next_retry_at),
                      opt("parent_task_id", &T::parent_task_id),
                      req("dependencies", &T::dependencies),
                      req("criteria_met", &T::criteria_met),
                      req("criteria_total", &T::criteria_total),
                      req("artifact_count", &T::artifact_count),
                      opt("block_reason", &T::block_reason),
                      req("updated_at", &T::updated_at)};
  }
  bool operator==(const ContextTask&) const = default;
};

// An in_progress task and its lease holder (never the lease token: that is the holder's secret).
// Ordered by (acquired_at, id).
struct ContextActiveTask {
  Uuid id{};
  std::string title{};
  std::string agent{};
  Timestamp acquired_at{};
  Timestamp expires_at{};
  std::int64_t attempt = 1;

  static constexpr auto fields() {
    using A = ContextActiveTask;
    return std::tuple{req("id", &A::id),           req("title", &A::title),           req("agent", &A::agent),
                      req("acquired_at", &A::acquired_at), req("expires_at", &A::expires_at), req("attempt", &A::attempt)};
  }
  bool operator==(const ContextActiveTask&) const = default;
};

struct ContextCheckpoint {
  Uuid id{};
  std::optional<Uuid> task_id{};
  std::string label{};
  std::string summary{};
  std::string repo_ref{};
  std::string resume_instructions{};
  std::int64_t log_position = 0;
  std::vector<TaskStatusSnapshot> tasks{};
  Timestamp created_at{};
  std::int64_t position = 0;

  static constexpr auto fields() {
    using C = ContextCheckpoint;
    return std::tuple{req("id", &C::id),
                      opt("task_id", &C::task_id),
                      req("label", &C::label),
                      req("summary", &C::summary),
                      req("repo_ref", &C::repo_ref),
                      req("resume_instructions", &C::resume_instructions),
                      req("log_position", &C::log_position),
                      req("tasks", &C::tasks),
                      req("created_at", &C::created_at),
                      req("position", &C::position)};
  }
  bool operator==(const ContextCheckpoint&) const = default;
};

// Newest first.
struct ContextDecision {
  Uuid id{};
  std::optional<Uuid> task_id{};
  std::string title{};
  std::vector<std::string> options{};
  std::string choice{};
  std::string rationale{};
  std::optional<Uuid> supersedes{};
  std::optional<Uuid> superseded_by{};
  Timestamp created_at{};
  std::int64_t position = 0;

  static constexpr auto fields() {
    using D = ContextDecision;
    return std::tuple{req("id", &D::id),           opt("task_id", &D::task_id),     req("title", &D::title),
                      req("options", &D::options), req("choice", &D::choice),       req("rationale", &D::rationale),
                      opt("supersedes", &D::supersedes), opt("superseded_by", &D::superseded_by),
                      req("created_at", &D::created_at), req("position", &D::position)};
  }
  bool operator==(const ContextDecision&) const = default;
};

struct ProjectContextView {
  std::int64_t position = 0;  // the project's last event reflected
  ContextProject project{};
  std::vector<ContextTask> tasks{};
  std::vector<ContextActiveTask> active_tasks{};
  std::optional<ContextCheckpoint> latest_checkpoint{};
  std::vector<ContextDecision> recent_decisions{};

  static constexpr auto fields() {
    using V = ProjectContextView;
    return std::tuple{req("position", &V::position),         req("project", &V::project),
                      req("tasks", &V::tasks),               req("active_tasks", &V::active_tasks),
                      opt("latest_checkpoint", &V::latest_checkpoint), req("recent_decisions", &V::recent_decisions)};
  }
  bool operator==(const ProjectContextView&) const = default;
};

// What both sources return: the canonical JSON text (core/json.hpp canonical_json) of a
// ProjectContextView, and the position it reflects (the project's last event).
struct ProjectContext {
  std::string json;
  events::Position position = 0;
};

// The view of an in-memory model whose last folded event of this project is `position`.
// nullopt when the model has no project row (the project does not exist yet at that point).
std::optional<ProjectContextView> context_view(const ProjectModel& model, events::Position position,
                                               const ContextOptions& options = {});
std::string context_json(const ProjectContextView& view);
ProjectContextView parse_context(std::string_view json);

}  // namespace tasklog::projections
