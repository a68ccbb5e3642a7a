// rebuild: every read model rebuilt from the log into a shadow schema and swapped in, while
// servers keep appending. Appends are blocked only for the last short step:
//
//   1. fold the log up to its head H0 in memory (one snapshot);
//   2. create the shadow schema and bulk-write the models into it;
//   3. while the tail behind the head is large, fold it and save the rows each event touched
//      (outside the append lock: appenders run on);
//   4. one transaction: take the append lock (no event can commit now), fold the last few
//      events, rename readmodel away, rename the shadow to readmodel, drop the old schema.
//      The drop also invalidates other sessions' cached plans on the old tables.
//
// Connects as a role that owns the readmodel schema (the migration's role or a superuser), not
// tasklog_app. Two rebuilds never run at once (a session advisory lock; the second is refused).
//
// Thread-safety: opens its own connections (two: the first pass reads on a second thread).
#pragma once

#include "projections/fold.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace tasklog::projections {

// Session advisory lock that keeps two rebuilds apart ("tasklog" + 10; events/database.hpp
// holds the log's own keys 01..02).
inline constexpr long long kRebuildLockKey = 0x7461736b6c6f6710;

struct RebuildProgress {
  enum class Stage { fold, write, catch_up, swap };
  Stage stage = Stage::fold;
  FoldProgress fold{};  // for fold and catch_up
};

struct RebuildOptions {
  std::string shadow_schema = "readmodel_shadow";
  std::size_t batch = 5000;           // events per read
  Position max_tail_in_lock = 2000;   // catch up outside the lock until the tail is this short
  int max_catch_up_passes = 10;       // then swap anyway: a writer faster than the fold never ends
  std::chrono::milliseconds lock_timeout{10000};  // for the swap's locks; a timeout retries the swap
  int swap_attempts = 3;
  std::function<void(const RebuildProgress&)> progress{};
};

struct RebuildReport {
  Position head_at_start = 0;  // H0
  Position swapped_at = 0;     // the position the swapped-in read models reflect
  std::uint64_t events_folded = 0;
  std::uint64_t events_in_lock = 0;  // folded while appends were blocked
  int catch_up_passes = 0;
  std::size_t projects = 0;
  double fold_seconds = 0;   // step 1
  double write_seconds = 0;  // step 2
  double swap_seconds = 0;   // step 4: how long appends were blocked
  double total_seconds = 0;

  double events_per_second() const { return total_seconds > 0 ? double(events_folded) / total_seconds : 0; }
};

// Throws when another rebuild runs, or on any database error (the live read models are then
// untouched: the swap is all or nothing).
RebuildReport rebuild_read_models(const std::string& conninfo, const RebuildOptions& options = {});

// Every table and view of `schema`, quoted and qualified, in name order ("" when there is none):
// the list LOCK TABLE takes. Locking a view locks what it reads too (one of them reads `events`).
std::string relations_of(pqxx::transaction_base& tx, std::string_view schema);
// LOCK TABLE `relations` IN `mode` ("ACCESS EXCLUSIVE", "ACCESS SHARE", ...), all in one statement
// in relations_of's order. The rebuild's swap takes them exclusively; a reader that must see one set
// of read models throughout (verify) shares them before anything else, so that the two take the
// same locks in the same order and a swap waits for it instead of renaming its tables away.
void lock_relations(pqxx::transaction_base& tx, const std::string& relations, std::string_view mode);

}  // namespace tasklog::projections
