// TaskReads: GET /v1/tasks/{id} answered in shared database calls.
//
// Why: a task read is one prepared call of public.tasklog_read_tasks (migrations/0008), and nearly
// all of that call's cost in PostgreSQL is per call, not per row — the PL/pgSQL call, the token's
// sign-in, the role switch and row-level security's setup (README, ninth round: 10–12k calls/s on
// this machine against ~60k point selects). So the reads that arrive while a call runs wait for the
// next one and share it: every read waiting with the same token goes into one call with all their
// ids, and the rows are handed back by id. With no other read waiting a read is a call of its own,
// as before; under load a call carries as many reads as came in during the previous one (at most
// `max_batch`), which is the DataLoader/group-commit pattern applied to reads.
//
// Nothing is cached: each read is answered from a call that started after the read arrived, so it
// sees every write acknowledged before its request, and its token is checked by that call (a
// revoked token stops at once). Reads of different tokens never share a call: a call runs as one
// user under row-level security.
//
// One call per token at a time, and at most `lanes` calls at once (each on a thread of this
// object's pool, with a connection leased from the DbPool for the call); the rest queue. One call
// per token because the reads of one token then wait for it and all share the next call: http_bench
// at 32 connections with one token, 5 s runs, a single lane gave 15,200–16,600 GETs/s (8.1–8.5 reads
// per call) against 8,700–9,100 with two calls of the token at once (5.7 per call) and 6,100–6,200
// with a call per read (before this class). Different tokens still read in parallel. An error of a
// call (the database unreachable, a lost connection, the token refused) answers every read of it.
//
// Sign-ins share calls the same way (sign_in()): every authenticated route that does not check its
// token itself needs the token's user before its handler runs (api/router.cpp), and one look-up per
// request was a statement of its own in PostgreSQL for every command. A sign-in joins only a call
// that starts after it arrived, so here too a revoked token stops at once. Sign-ins and task reads
// of one token go in separate calls (a sign-in returns the user, a read the tasks); the server
// keeps a TaskReads of its own for sign-ins, so that the two never wait for each other's lanes.
//
// Thread-safety: read() and sign_in() from any thread; `done` and the sign-in's answer run on one
// of the lanes' threads (or, for a token that cannot be ours, on the caller's) and must not block.
// stop() waits for the lanes; reads and sign-ins queued then are answered with
// DomainError(unavailable).
#pragma once

#include "api/auth.hpp"
#include "api/db_pool.hpp"
#include "core/ids.hpp"

#include <pqxx/pqxx>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

namespace tasklog::api {

struct TaskReadsOptions {
  unsigned lanes = 4;            // calls in flight at once, for different tokens (threads; connections while they run)
  std::size_t max_batch = 64;    // reads one call may carry
  // The lanes there are (at least one): threads of TaskReads, and connections the pool needs for them.
  unsigned lane_count() const { return lanes > 0 ? lanes : 1; }
};

struct TaskReadsStats {
  std::uint64_t reads = 0;          // reads answered
  std::uint64_t calls = 0;          // database calls they took
  std::uint64_t sign_ins = 0;       // sign-ins answered
  std::uint64_t sign_in_calls = 0;  // database calls they took
  std::uint64_t queued = 0;         // reads and sign-ins waiting for a call now
};

class TaskReads {
 public:
  // error: what the read failed with (DomainError unauthorized for the token, unavailable, a pqxx
  // error); otherwise the task's row (kTaskColumns), or nullopt when there is none the user may see.
  using Done = std::function<void(std::exception_ptr error, std::optional<pqxx::row> row)>;
  // error: DomainError unauthorized for an unknown, revoked or expired token, unavailable, a pqxx
  // error; otherwise the token's user.
  using SignedIn = std::function<void(std::exception_ptr error, std::optional<Principal> user)>;

  TaskReads(DbPool& pool, TaskReadsOptions options = {});
  ~TaskReads();  // stop()
  TaskReads(const TaskReads&) = delete;
  TaskReads& operator=(const TaskReads&) = delete;

  // Without a task_id only the token is signed in (done gets no row, or the refusal).
  void read(std::string_view bearer_token, std::optional<Uuid> task_id, Done done);
  // The user of the token, from a call shared with the other sign-ins of that token waiting then.
  void sign_in(std::string_view bearer_token, SignedIn done);
  void stop();
  TaskReadsStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tasklog::api
