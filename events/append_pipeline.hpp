// AppendPipeline: the writer's second connection, in libpq's pipeline mode, that carries append
// transactions ("flights") back to back without waiting for each one's answer.
//
// Why: with one transaction per round trip, PostgreSQL idles while the writer stages the next
// batch, and the writer idles while PostgreSQL inserts and commits (perf during append_bench at
// 32 producers: the machine ~54 % idle, PostgreSQL at half a core). With flights in a pipeline,
// the next batch is staged while the previous one is inserted and committed, and the server starts
// on it the moment the previous one has committed.
//
// A flight is one transaction, its statements queued in one message with the events as a
// parameter (no SQL text to lex, nothing to escape):
//   BEGIN; SELECT pg_advisory_xact_lock(append key); INSERT … (guarded); SELECT pg_notify(…); COMMIT
// It takes the append lock like every other append, so processes that share the database still
// append one at a time. Flights on one connection run in the order sent, so a flight commits only
// after every earlier one has; its positions follow the previous flight's. If a flight fails, it
// cannot leave a gap behind it:
//  - its transaction is an explicit block, so an error leaves the block aborted and every flight
//    queued behind it fails at its BEGIN until the writer rolls back (PostgreSQL runs nothing in
//    a failed block);
//  - and, independently, each INSERT is guarded by its predecessor's row: it inserts its rows only
//    if the event at `after_position` exists with `after_hash`, and the writer checks the count.
//
// Thread-safety: none; the writer thread alone uses it.
#pragma once

#include "core/sha256.hpp"
#include "events/event.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>

struct pg_conn;

namespace tasklog::events {

// One append transaction to send.
struct FlightSql {
  std::string rows_json;        // the events as the insert statement's jsonb array (write_event_json)
  std::size_t rows = 0;         // how many events rows_json holds
  Position after_position = 0;  // the event the flight's first follows (0: the log was empty)
  Sha256Digest after_hash{};    // ... and its hash
  Position last_position = 0;   // the NOTIFY payload
  bool time_commit = false;     // have the server answer the INSERT before committing (commit_time)
};

struct FlightResult {
  enum class Status {
    committed,  // COMMIT succeeded: every row is in the log
    failed,     // nothing was committed (an error, a failed block before it, or its guard)
    broken,     // the connection was lost before the outcome was read: it may or may not have committed
  };
  Status status = Status::committed;
  std::string sqlstate{};    // of the first error, when there was one
  std::string constraint{};  // the constraint an error names (e.g. events_pkey)
  std::string message{};
  // With time_commit, from its INSERT's answer to its COMMIT's: the NOTIFY, the commit and its
  // WAL flush, as the writer saw them.
  std::optional<std::chrono::steady_clock::duration> commit_time{};
};

class AppendPipeline {
 public:
  // Connects, switches to `role` and prepares the statements. Throws pqxx::broken_connection when
  // the database cannot be reached, std::runtime_error on any other failure.
  AppendPipeline(const std::string& conninfo, const std::optional<std::string>& role);
  ~AppendPipeline();
  AppendPipeline(const AppendPipeline&) = delete;
  AppendPipeline& operator=(const AppendPipeline&) = delete;

  // Queues a flight and flushes it to the server. Throws pqxx::broken_connection when the
  // connection is lost (every flight in flight is then `broken`).
  void send(const FlightSql& flight);

  // The oldest flight's outcome, once all of it has arrived; reads what has arrived so far without
  // blocking (nothing when more is to come).
  std::optional<FlightResult> poll();
  // Blocks until the oldest flight's outcome has arrived.
  FlightResult receive();
  // The connection's socket: readable when more of the flights' answers arrive.
  int socket() const;

  std::size_t in_flight() const { return pending_.size(); }

  // After a failed flight, once nothing is in flight: rolls back the aborted block, if any, so
  // the connection can carry flights again. False when the connection is unusable (discard it).
  bool recover();

  bool usable() const;

 private:
  void check_sent(int ok, const char* what);
  FlightResult finish();  // the oldest flight's outcome is complete: take it

  pg_conn* conn_ = nullptr;
  struct Pending {
    std::size_t rows = 0;  // rows its INSERT must report
    bool timed = false;    // its INSERT's answer comes before the commit (time_commit)
  };
  std::deque<Pending> pending_;  // the flights in flight, oldest first
  // The oldest flight's answers read so far.
  FlightResult landing_{};
  int statement_ = 0;  // results read (one per statement)
  int nulls_ = 0;      // NULLs in a row from PQgetResult (one follows each statement's results)
  std::chrono::steady_clock::time_point inserted_at_{};
};

}  // namespace tasklog::events
