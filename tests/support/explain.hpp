// What a statement's plan read of the events table, from EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON):
// for tests that pin a statement to its index whatever plan the planner settles on.
#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <string>

namespace tasklog::testing {

struct EventsRead {
  std::int64_t rows = 0;    // rows the plan's nodes on `events` produced or filtered out
  std::int64_t blocks = 0;  // shared buffers they touched (hit or read)
};

// Runs `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) <statement>` in `tx` and sums the nodes on
// `events`. `plan` receives the plan's JSON, for failure messages. Blocks are index and heap pages:
// entries an index condition rejects show up only there, not in rows.
EventsRead explain_events_read(pqxx::transaction_base& tx, const std::string& statement, std::string& plan);

}  // namespace tasklog::testing
