// From the log's rows to the domain's fold: the one decoding of a RecordedEvent and the one fold
// step, shared by the inline projector, the rebuild, verify and time travel.
#pragma once

#include "core/domain_events.hpp"
#include "core/evolve.hpp"
#include "events/event.hpp"

#include <map>

namespace tasklog::projections {

// Throws DomainError(validation_failed) for a payload this binary cannot read.
DomainEvent decode_recorded(const events::RecordedEvent& event);
EventMeta meta_of(const events::RecordedEvent& event);

// Every project's read-model rows, by project id: what load_all reads and the fold builds.
using ProjectModels = std::map<Uuid, ProjectModel>;

// Folds one event into the model of its project (created on first use).
void fold(ProjectModels& models, const DomainEvent& event, const EventMeta& meta);
void fold(ProjectModels& models, const events::RecordedEvent& event);

}  // namespace tasklog::projections
