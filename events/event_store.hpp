// EventStore: the only writer of the `events` table.
//
// One writer thread per EventStore (one per process) appends in batches: every command that
// arrives while a batch commits joins the next one (group commit). A batch is one transaction that
// takes the append advisory lock, reads the head, decides each command in arrival order against
// state that includes the earlier commands of the same batch, assigns positions and hashes,
// inserts, runs the inline projector, NOTIFYs and commits — then answers every caller. Because
// positions are assigned under a lock held until commit, no position can become visible after a
// larger one: readers following `position > cursor` never skip an event, also with several
// processes appending to one database.
//
// Batches of fixed appends to streams the writer knows (append/async_append) are staged from its
// memory of its last commit and — when the store has no inline projector, whose writes a flight
// does not carry — sent as flights on a second connection in pipeline mode
// (AppendPipeline): while one flight is inserted and committed, the writer stages and sends the
// next, which PostgreSQL starts the moment the first has committed. Flights still take the lock
// and commit in order; a flight that fails takes the ones behind it down with it (none can leave
// a gap), and their commands run again the serial way. Deciders (execute/async_execute) read
// through the transaction, so they wait for every flight to land and run serially.
//
// A command that is refused (version conflict, idempotency conflict, a domain refusal from its
// decider) answers only its own caller. An unexpected database error fails the batch's
// transaction; the writer then re-runs each command of that batch alone, so one bad command
// cannot fail the others.
//
// Thread-safety: append/execute/async_* may be called from any thread concurrently.
#pragma once

#include "events/event.hpp"

#include <pqxx/pqxx>

#include <any>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::events {

// What a decider sees: the append transaction, under the append lock.
class AppendContext {
 public:
  virtual ~AppendContext() = default;
  // Reads through this transaction see everything committed plus the events (and inline
  // projections) of the commands decided earlier in the same batch.
  virtual pqxx::transaction_base& tx() = 0;
  // The same transaction for reads of rows that only events of `streams`, or of streams of
  // `stream_types`, change. The batch's staged events are inserted and projected first only when
  // one of them is on such a stream; otherwise they wait, and a batch of commands on distinct
  // streams sends its inserts and read-model writes once, with the commit, instead of a round
  // trip per command.
  virtual pqxx::transaction_base& tx_for(const std::vector<Uuid>& streams, const std::vector<std::string>& stream_types) = 0;
  // Whether an event of this batch so far (staged or written) is on the stream.
  virtual bool touched(const Uuid& stream_id) const = 0;
  // The events of this batch so far (written and staged), in order: a decider that keeps rows it
  // read for later deciders tells from them what changed since (event(i) for i < event_count()).
  virtual std::size_t event_count() const = 0;
  virtual const RecordedEvent& event(std::size_t index) const = 0;
  // How many of those events (the first ones) are written to the transaction, with their inline
  // projections: a read through tx_for() that wrote nothing sees the batch up to there and not the
  // staged events after it.
  virtual std::size_t written_count() const = 0;
  // The deciders' scratch space for one attempt of one batch (empty at its start): rows a decider
  // read, kept for the later deciders of the same batch while `touched` says nothing changed them.
  virtual std::any& scratch() = 0;
  // The rows the commands after this one in the batch said they will read (async_execute's
  // `reads`): a decider that has to read one row may read theirs in the same statement and keep
  // them in scratch() for them. In batch order; may repeat ids.
  virtual std::vector<Uuid> reads_ahead() const = 0;
  // Current version of a stream, including this batch; 0 when it has no events.
  virtual std::int64_t stream_version(const Uuid& stream_id) = 0;
  // The same when the writer knows it without reading: the batch's own, or remembered from the
  // writer's earlier commits while the head under the lock shows that nobody else appended since.
  // Nullopt when only a read would tell.
  virtual std::optional<std::int64_t> known_version(const Uuid& stream_id) const = 0;
  // Tells the writer a stream's version read under the lock from a row that the stream's events
  // keep in the same transaction (a read model's version column), so that known_version() answers
  // for it from then on. Ignored when the writer knows the version already. A wrong value cannot
  // append anything wrong: staging at it collides on the unique (stream, version) index and the
  // batch runs again reading every version.
  virtual void learned_version(const Uuid& stream_id, std::int64_t version) = 0;
  // Scratch that outlives the batch: rows a decider read, for the deciders of later batches, which
  // may take such a row while known_version() of the stream whose events alone change it says the
  // row's version is still current — a batch of task creations then skips its project's read, the
  // round trip that stood between the lock and the insert. Keep only rows read before any event of
  // the batch was on their stream (committed state, whatever becomes of the batch). The store
  // empties it whenever it forgets what it knows of the log (a failed batch, a new connection,
  // another writer's appends).
  virtual std::any& lasting_scratch() = 0;
  // The recorded_at the events of this command will get (never before the log's last event).
  virtual Timestamp now() const = 0;
  // Position of the last event appended so far (committed or earlier in this batch).
  virtual Position head() const = 0;
};

// Computes a command's events under the lock. May throw DomainError to refuse the command.
// Must only read: it can be run again if its batch is retried.
using Decider = std::function<std::vector<StreamAppend>(AppendContext&)>;

// Keeps read models in the append transaction, so they commit atomically with the events
// (read-your-writes for the caller). For each group of staged events it may read through the
// transaction (rows as they were before the group: the group is not inserted yet) and appends to
// `sql` the statements that write its rows; the store sends them right after the group's INSERT,
// in the same round trip (with the NOTIFY and COMMIT when the group is the batch's last).
using InlineProjector =
    std::function<void(pqxx::transaction_base&, const std::vector<RecordedEvent>&, std::string& sql)>;

struct AppendOutcome {
  std::optional<AppendResult> result{};
  std::exception_ptr error{};  // DomainError (or VersionConflict) for refusals; others are faults
};
using AppendCallback = std::function<void(AppendOutcome)>;

struct EventStoreOptions {
  std::string conninfo{};
  std::optional<std::string> role = "tasklog_app";  // SET ROLE after connecting
  std::size_t max_batch = 1024;                     // commands per transaction at most
  int max_attempts = 4;                             // tries of a batch on retryable database errors
  // Batches of fixed appends in flight at once on the writer's pipeline connection
  // (AppendPipeline): the next is staged and sent while the previous ones are inserted and
  // committed. 0: every batch waits for the previous one's commit (one connection, no pipeline).
  std::size_t pipeline_depth = 2;
  // Whether the writer chooses between pipeline_depth and one flight at a time as it measures
  // commits and the gaps between them (see the writer); false: always pipeline_depth (tests).
  bool pipeline_adapts = true;
  std::function<Timestamp()> clock{};                 // defaults to the system clock
  InlineProjector projector{};                        // optional
  // The schema whose rows deciders read (and keep, AppendContext::lasting_scratch). A rebuild swaps
  // a new one in under the append lock without appending, so the head cannot tell: the writer
  // notes the schema's identity when it reads the head, a batch decided from memory takes the lock
  // only together with a check that it is still that schema, and a changed one makes it forget
  // everything it kept. Empty: no schema is watched.
  std::string read_schema{};
};

struct EventStoreStats {
  std::uint64_t batches = 0;
  std::uint64_t commands = 0;
  std::uint64_t events = 0;
  std::uint64_t largest_batch = 0;
  std::uint64_t flights = 0;         // batches that committed as flights of the pipeline (included in batches)
  std::uint64_t flights_failed = 0;  // flights that did not commit (their commands ran again the serial way)
  // Batches of commands decided from the writer's memory whose lock came with their insert: one
  // round trip in all, nothing read under the lock (included in batches).
  std::uint64_t unread_batches = 0;
  // Batches decided from memory that ran again, reading, because another writer had appended since
  // (the head under the lock had moved, or the insert collided on position).
  std::uint64_t memory_misses = 0;
  std::size_t flights_in_air = 0;    // sent and not landed, now
  std::size_t queued = 0;            // commands waiting for the writer to take them into a batch, now
  // Statements that wrote staged events (with their projections): one per committed batch, plus
  // one for each read that had to see the batch's staged events before its commit.
  std::uint64_t inserts = 0;
};

class EventStore {
 public:
  explicit EventStore(EventStoreOptions options);
  ~EventStore();  // finishes every queued command, then stops the writer
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Appends one command's events, all or nothing. Blocks until committed; throws the refusal.
  AppendResult append(std::vector<StreamAppend> streams);
  // `reads`: the rows (by id) the decider will read, if known — a hint for the deciders before it
  // in its batch (AppendContext::reads_ahead); nothing depends on it being complete.
  AppendResult execute(Decider decider, std::vector<Uuid> reads = {});

  // The same without blocking; the callback runs on the writer thread after commit, so it must
  // be quick (post to your own executor). A command submitted while the store stops is refused
  // (unavailable) at once, its callback then running on the caller's thread. A callback may call
  // the store, stop() included.
  void async_append(std::vector<StreamAppend> streams, AppendCallback done);
  void async_execute(Decider decider, AppendCallback done, std::vector<Uuid> reads = {});

  // Stops accepting commands, answers the queued ones, joins the writer. Idempotent; called from
  // a callback (the writer thread) it only asks the writer to stop, and the destructor joins it.
  void stop();

  EventStoreStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_{};
};

// Checks and canonicalizes the JSON of a command's events (payload and metadata must be objects).
// Throws DomainError(validation_failed). append() calls it on the caller's thread, outside the lock.
void canonicalize_events(std::vector<StreamAppend>& streams);

}  // namespace tasklog::events
