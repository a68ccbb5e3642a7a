// evolve: folds an event into the read-model rows it changes. The projections run this same
// fold three ways — inline (load rows, evolve, save), in bulk (rebuild) and in memory (time
// travel, verify) — so it is total and deterministic: every time comes from the event or its
// EventMeta, never from a clock.
//
// Which rows an event touches:
//   project-stream events          -> ProjectState (version, updated_at; the project's own events more)
//   CheckpointCreated              -> a new CheckpointRow
//   DecisionRecorded               -> a new DecisionRow
//   DecisionSuperseded             -> the superseded DecisionRow
//   task-stream events             -> TaskState (version, updated_at, and the event's change)
//   ArtifactAppended               -> also a new ArtifactRow
//   TaskMessageAppended            -> also a new MessageRow
#pragma once

#include "core/domain_events.hpp"
#include "core/project.hpp"
#include "core/records.hpp"
#include "core/task.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace tasklog {

// What the log adds to a payload: where and when it was recorded, and by whom.
struct EventMeta {
  std::int64_t position = 0;  // global position; 0 before it is appended
  std::int64_t version = 0;   // the event's version in its stream
  Uuid actor_id;
  Timestamp recorded_at;
};

// Project-stream events change the project row; task-stream events leave it alone.
// ProjectCreated builds the row from any starting value.
void evolve(ProjectState& project, const DomainEvent& event, const EventMeta& meta);

// Task-stream events change the task row; project-stream events leave it alone.
// TaskCreated builds the row from any starting value.
void evolve(TaskState& task, const DomainEvent& event, const EventMeta& meta);

ArtifactRow artifact_row(const ArtifactAppended& event, const EventMeta& meta);
CheckpointRow checkpoint_row(const CheckpointCreated& event, const EventMeta& meta);
DecisionRow decision_row(const DecisionRecorded& event, const EventMeta& meta);
MessageRow message_row(const TaskMessageAppended& event, const EventMeta& meta);
void evolve(DecisionRow& decision, const DecisionSuperseded& event, const EventMeta& meta);

// Every read-model row of one project, in memory: what time travel folds the log into.
struct ProjectModel {
  std::optional<ProjectState> project;
  std::map<Uuid, TaskState> tasks;
  std::map<Uuid, ArtifactRow> artifacts;
  std::map<Uuid, CheckpointRow> checkpoints;
  std::map<Uuid, DecisionRow> decisions;
  std::vector<MessageRow> messages;  // in log order

  bool operator==(const ProjectModel&) const = default;
};

void evolve(ProjectModel& model, const DomainEvent& event, const EventMeta& meta);

}  // namespace tasklog
