// The in-process server the HTTP and MCP fuzz targets talk to: a fresh migrated database in the
// test cluster (tests/support), the services ApiServer builds (pool, EventStore, TaskEngine,
// metrics) and the server's route table — everything of `tasklog serve` but the sockets. Built on
// first use (from LLVMFuzzerInitialize) and torn down at exit, which drops the database.
//
// So that the seed corpus can name real resources, the world is deterministic: the engine's ids
// come from a counter (00000000-0000-4000-8000-<12 hex digits>, from 1), the users are inserted
// with fixed ids and fixed bearer tokens, and the setup creates one project and one task whose ids
// are the constants below (checked at start-up).
#pragma once

#include "api/http_types.hpp"

#include <string>
#include <string_view>

namespace tasklog::api {
class Router;
struct ApiServices;
}  // namespace tasklog::api

namespace tasklog::fuzz {

// Owner of kProject.
inline constexpr std::string_view kAliceId = "00000000-0000-4000-8000-00000000a11c";
inline constexpr std::string_view kAliceToken = "tl_fuzzAliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
// A viewer of kProject (writes are 403).
inline constexpr std::string_view kBobId = "00000000-0000-4000-8000-000000000b0b";
inline constexpr std::string_view kBobToken = "tl_fuzzBobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
// No membership anywhere (everything of kProject is 404).
inline constexpr std::string_view kCarolId = "00000000-0000-4000-8000-0000000ca201";
inline constexpr std::string_view kCarolToken = "tl_fuzzCarolCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
// Created by alice at start-up: a project, and in it a task with two acceptance criteria.
inline constexpr std::string_view kProject = "00000000-0000-4000-8000-000000000001";
inline constexpr std::string_view kTask = "00000000-0000-4000-8000-000000000002";

struct World {
  const api::Router& router;
  api::ApiServices& services;
};

// The world, built on the first call. Aborts (with a message) when it cannot be built: a fuzz
// target without its server would report nothing but its own failure.
World world();

// A request as the server's parser would hand it over, answered the way a session does.
api::Response answer(const api::Request& request);

}  // namespace tasklog::fuzz
