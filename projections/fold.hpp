// fold: the log, read in batches by position, folded through core's evolve() into in-memory
// read models. Rebuild, verify and time travel all start here, so every one of them sees the
// same rows the inline projector writes (it runs the same evolve()).
#pragma once

#include "core/domain_events.hpp"
#include "core/evolve.hpp"
#include "events/event.hpp"
#include "projections/event_fold.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

namespace tasklog::projections {

using events::Position;

// An event of the log decoded once, with what the log adds to its payload.
struct DecodedEvent {
  DomainEvent event;
  EventMeta meta;
  Uuid project_id{};
};

// A stored event that the fold cannot read (unknown type, payload that does not fit its type,
// columns that disagree with the payload; for write_all, a row key an earlier event created).
// Carries the position so that verify and rebuild can name the row.
class FoldError : public std::runtime_error {
 public:
  FoldError(Position position, const std::string& what);
  Position position() const noexcept { return position_; }

 private:
  Position position_;
};

// decode_recorded() and meta_of() (event_fold.hpp) at once; throws FoldError.
DecodedEvent decode(const events::RecordedEvent& recorded);

struct FoldProgress {
  Position position = 0;     // last position folded
  Position target = 0;       // where this fold stops
  std::uint64_t events = 0;  // folded so far by this call
};

struct FoldOptions {
  std::size_t batch = 5000;  // events per read: large enough that round trips do not dominate
  // After every batch (on the folding thread).
  std::function<void(const FoldProgress&)> progress{};
  // After each event is folded, with the model it changed: how rebuild's catch-up writes exactly
  // the rows an event touched.
  std::function<void(const ProjectModel&, const DecodedEvent&)> on_event{};
};

struct FoldResult {
  Position position = 0;  // last position folded (the `after` given when there was nothing)
  std::uint64_t events = 0;
};

// Folds the whole log's events in (after, up_to] into models. Reads through the caller's
// transaction, so the caller chooses the snapshot.
FoldResult fold_log(pqxx::transaction_base& tx, ProjectModels& models, Position after, Position up_to,
                    const FoldOptions& options = {});

// fold_log on two threads: a reader on a connection of its own fetches and decodes the next
// batch while this thread folds (decoded_batches.hpp). Only for positions at or below a head read
// before, which are committed and the same in every snapshot.
FoldResult fold_log_prefetching(const std::string& conninfo, ProjectModels& models, Position after, Position up_to,
                                const FoldOptions& options = {});

// Folds one project's events in (after, up_to] into model (the project's index on events keeps
// this proportional to the project, not to the log).
FoldResult fold_project(pqxx::transaction_base& tx, const Uuid& project_id, ProjectModel& model, Position after,
                        Position up_to, const FoldOptions& options = {});

}  // namespace tasklog::projections
