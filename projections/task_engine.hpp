// TaskEngine: runs domain commands against the event store. Each command is decided under the
// append lock, inside the batch transaction, against read models that include every earlier
// command (of this batch and of every other process), and its events are appended to one stream
// with that stream's version as loaded, so a writer the read models did not see is caught as a
// version conflict instead of being overwritten.
//
// Thread-safety: execute/async_execute may be called from any thread concurrently. new_id and
// clock are called only from the store's writer thread, one command at a time.
#pragma once

#include "core/commands.hpp"
#include "core/decide.hpp"
#include "core/domain_events.hpp"
#include "events/event_store.hpp"

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::projections {

struct CommandOutcome {
  events::AppendResult append;
  std::vector<DomainEvent> events;  // what decide() produced, in append order
  // When the events are on a task's stream: that task's row right after them — the row the decider
  // loaded under the append lock, folded with them by the same evolve() the inline projector
  // writes it with. A command's answer is built from it without reading the row back.
  std::optional<TaskState> task;
  // The lease's token, for its holder alone: a claim's (or pick's) new lease when it claimed, a
  // heartbeat's extended one. Nowhere else: the events and rows keep only its id (lease_id_of).
  std::optional<Uuid> lease_token;
};

// Options for an EventStore that the engine drives: the application role and the inline projector
// over the readmodel schema.
events::EventStoreOptions engine_store_options(std::string conninfo);

// Checks that the actor may run the command, against the context as loaded under the append lock
// (so a membership change cannot slip between the check and the append). Throws DomainError to
// refuse; runs before decide().
using Authorizer = std::function<void(const CommandContext&)>;

class TaskEngine {
 public:
  // new_id: fresh entity ids (default: random; lease tokens are always random). clock: the `now` commands are
  // decided at (default: the store's, which is also the events' recorded_at); tests inject one to
  // move time forward without waiting.
  explicit TaskEngine(events::EventStore& store, std::function<Uuid()> new_id = {},
                      std::function<Timestamp()> clock = {});

  // Blocks until committed. Throws the refusal (DomainError; VersionConflict is one).
  // pick_next_task with no ready task returns no events.
  CommandOutcome execute(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version = {},
                         Authorizer authorize = {});

  // The same without blocking; `done` runs on the store's writer thread after commit with the
  // outcome or the error, so it must be quick.
  void async_execute(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version,
                     std::function<void(std::optional<CommandOutcome>, std::exception_ptr)> done,
                     Authorizer authorize = {});

 private:
  struct Run;  // one command's decided events and the rows it handed to the projector
  static std::shared_ptr<Run> new_run(const Command& command);
  static CommandOutcome outcome_of(events::AppendResult result, Run& run);
  events::Decider decider(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version,
                          Authorizer authorize, std::shared_ptr<Run> run) const;

  events::EventStore& store_;
  std::function<Uuid()> new_id_;
  std::function<Timestamp()> clock_;
};

}  // namespace tasklog::projections
