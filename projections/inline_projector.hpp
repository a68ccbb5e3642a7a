// The inline projector: keeps the read models current inside the append transaction, so a
// command's response and every query after its commit see its effects (read-your-writes).
// For each group of events it loads the rows they touch (once per group), folds the events with
// the same evolve() the rebuild and time travel use, and writes the changed rows back in the
// round trip that inserts the events.
#pragma once

#include "events/event_store.hpp"
#include "projections/read_model_store.hpp"

#include <string>
#include <vector>

namespace tasklog::projections {

// Projects `events` (in position order) into the read models of `schema`: reads the rows they
// start from through tx and appends the statements that write the changed rows to `sql`. Throws
// when an event cannot be decoded: the append then fails rather than leave the read models
// behind the log.
void project_inline(pqxx::transaction_base& tx, std::string_view schema, const std::vector<events::RecordedEvent>& events,
                    std::string& sql);

// project_inline as an EventStoreOptions::projector. Stateless, so any number of stores may share it.
events::InlineProjector make_inline_projector(std::string schema = std::string(kReadSchema));

}  // namespace tasklog::projections
