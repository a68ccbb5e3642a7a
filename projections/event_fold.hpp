// From the log's rows to the domain's fold: the one decoding of a RecordedEvent and the one fold
// step, shared by the inline projector, the rebuild, verify and time travel.
#pragma once

#include "core/domain_events.hpp"
#include "core/evolve.hpp"
#include "events/event.hpp"

#include <map>
#include <optional>
#include <string>

namespace tasklog::projections {

// Throws DomainError(validation_failed) for a payload this binary cannot read.
DomainEvent decode_recorded(const events::RecordedEvent& event);
EventMeta meta_of(const events::RecordedEvent& event);

// How the event's stream, project and task columns disagree with where its payload puts it (the
// first column that does), or nullopt. The log's folds go by the columns (rebuild, verify, time
// travel) and import's by the payload: an event they place apart would become different read
// models in each, so decode() (fold.hpp) refuses it, and import through it.
std::optional<std::string> misplaced(const events::RecordedEvent& recorded, const DomainEvent& event);

// Every project's read-model rows, by project id: what load_all reads and the fold builds.
using ProjectModels = std::map<Uuid, ProjectModel>;

// Folds one event into the model of its project (created on first use).
void fold(ProjectModels& models, const DomainEvent& event, const EventMeta& meta);
void fold(ProjectModels& models, const events::RecordedEvent& event);

}  // namespace tasklog::projections
