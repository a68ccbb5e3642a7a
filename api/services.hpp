// What a request handler may use. Built and owned by ApiServer; handlers get it by reference.
#pragma once

#include "api/db_pool.hpp"
#include "api/http_types.hpp"
#include "api/metrics.hpp"
#include "api/task_reads.hpp"
#include "events/event_store.hpp"
#include "projections/lease_reaper.hpp"
#include "projections/task_engine.hpp"

namespace tasklog::api {

struct ApiServices {
  DbPool& pool;                          // queries (begin_as_user for row-level security)
  projections::TaskEngine& engine;       // commands (execute blocks the worker until commit)
  events::EventStore& store;
  Metrics& metrics;
  TaskReads& task_reads;                 // GET /v1/tasks/{id}: reads of one token share a call
  TaskReads& sign_ins;                   // the router's sign-ins: those of one token share a call
  projections::LeaseReaper* reaper = nullptr;  // for /metrics; may be null in tests
  HttpLimits limits{};
};

}  // namespace tasklog::api
