// decide: a command and what the caller loaded -> the events to append, or a DomainError.
// Pure: the clock, fresh ids and the actor come in through CommandContext.
//
// Every command's events go to exactly one stream (route() of any of them), so the caller appends
// them as one StreamAppend. context_needs() says, per command, what to load before deciding:
//
//   command                                    project  task  graph  other
//   create_project                             -        -     -
//   update_project, archive_project,
//   add_member, remove_member                  yes      -     -
//   create_task                                yes      -     yes    (dependencies and parent must exist)
//   add_dependency                             yes      yes   yes    (cycle check)
//   claim_task                                 yes      yes   yes    (dependency statuses)
//   pick_next_task                             yes      -     yes    candidates: the project's todo tasks
//   create_checkpoint                          yes      -     yes    log_position: the log's head
//   record_decision                            yes      -     if task_id   superseded_decision if supersedes
//   every other task command                   yes      yes   -
//
// "project" for a task command is the task's project. expected_version, when set, is compared
// with the version of the stream the command writes to (0 for a stream that does not exist yet).
#pragma once

#include "core/commands.hpp"
#include "core/domain_events.hpp"
#include "core/ids.hpp"
#include "core/project.hpp"
#include "core/records.hpp"
#include "core/task.hpp"
#include "core/task_graph.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace tasklog {

inline constexpr std::int64_t kMinLeaseSeconds = 5;
inline constexpr std::int64_t kMaxLeaseSeconds = 24 * 3600;

struct CommandContext {
  Timestamp now;                                  // becomes the events' recorded_at
  Uuid actor;                                     // the user on whose behalf the command runs
  std::function<Uuid()> new_id;                   // fresh ids: projects, tasks, artifacts…
  // The token a claim (or pick) hands to its agent. Only its fingerprint, lease_id_of(token), goes
  // into the event, the row and the log; the token itself is the holder's secret and leaves only
  // in the command's answer (TaskEngine: CommandOutcome::lease_token). A claim refuses without one.
  std::optional<Uuid> lease_token;
  std::optional<std::int64_t> expected_version;   // If-Match on the target stream

  std::optional<ProjectState> project;
  std::optional<TaskState> task;
  TaskGraph graph;                                // every task of the project
  std::vector<TaskState> candidates;              // pick_next_task: the project's todo tasks
  std::optional<DecisionRow> superseded_decision;  // record_decision with supersedes
  std::int64_t log_position = 0;                  // create_checkpoint: position of the log's last event
};

// What the caller must load into a CommandContext for this command.
struct ContextNeeds {
  std::optional<Uuid> project_id{};   // load this project; for a task command, load the task's project
  std::optional<Uuid> task_id{};      // load this task (and then its project)
  bool graph = false;               // load CommandContext::graph
  bool candidates = false;          // load CommandContext::candidates
  std::optional<Uuid> decision_id{};  // load CommandContext::superseded_decision
  bool log_position = false;        // set CommandContext::log_position

  bool operator==(const ContextNeeds&) const = default;
};

ContextNeeds context_needs(const Command& command);

// The events the command produces, in order. Throws DomainError to refuse. Empty only for
// pick_next_task when no task is ready.
std::vector<DomainEvent> decide(const CommandContext& context, const Command& command);

}  // namespace tasklog
