// The fuzz targets' in-process server (see the header).
#include "tests/fuzz/fuzz_world.hpp"

#include "api/db_pool.hpp"
#include "api/http_exchange.hpp"
#include "api/metrics.hpp"
#include "api/router.hpp"
#include "api/services.hpp"
#include "core/ids.hpp"
#include "core/sha256.hpp"
#include "events/event_store.hpp"
#include "projections/task_engine.hpp"
#include "tests/support/test_cluster.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace tasklog::fuzz {
namespace {

// 00000000-0000-4000-8000-<n as 12 hex digits>: valid version-4 shaped ids that a seed file can
// spell out.
Uuid counter_id(std::uint64_t n) {
  return *parse_uuid(fmt::format("00000000-0000-4000-8000-{:012x}", n));
}

struct Instance {
  testing::TestDatabase db;
  api::DbPool pool{db.conninfo(), 2};
  events::EventStore store{projections::engine_store_options(db.conninfo())};
  std::atomic<std::uint64_t> next_id{0};
  projections::TaskEngine engine{store, [this] { return counter_id(++next_id); }};
  api::Metrics metrics;
  api::Router router;
  api::TaskReads task_reads{pool};
  api::TaskReads sign_ins{pool};
  api::ApiServices services{pool, engine, store, metrics, task_reads, sign_ins, nullptr, api::HttpLimits{}};

  Instance() { api::add_server_routes(router); }
};

Instance* instance = nullptr;

[[noreturn]] void setup_failed(std::string_view what) {
  std::fprintf(stderr, "fuzz world: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

void insert_user(pqxx::work& tx, std::string_view id, std::string_view name, std::string_view token) {
  tx.exec_params("INSERT INTO auth.users (id, email, name) VALUES ($1, $2, $3)", std::string(id),
                 fmt::format("{}@fuzz.test", name), std::string(name));
  tx.exec_params("INSERT INTO auth.api_tokens (id, user_id, name, token_hash) VALUES ($1, $2, 'fuzz', $3)",
                 to_string(derived_uuid(token)), std::string(id), to_hex(sha256(token)));
}

// A request of the setup, answered like any other; a refusal means the world is not the one the
// corpus expects.
std::string setup_request(api::http::verb method, std::string target, std::string body) {
  api::Request request{method, target, 11};
  request.set(api::http::field::authorization, fmt::format("Bearer {}", kAliceToken));
  request.set(api::http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  const auto response = answer(request);
  if (response.result_int() >= 300) setup_failed(fmt::format("{} answered {}: {}", target, response.result_int(), response.body()));
  return response.body();
}

void build() {
  // Handlers log a refusal's cause at warn and below; at this rate that is noise. Errors (a 500's
  // exception) still show.
  spdlog::set_level(spdlog::level::err);
  instance = new Instance();
  {
    pqxx::connection c{instance->db.conninfo()};
    pqxx::work tx{c};
    insert_user(tx, kAliceId, "alice", kAliceToken);
    insert_user(tx, kBobId, "bob", kBobToken);
    insert_user(tx, kCarolId, "carol", kCarolToken);
    tx.commit();
  }
  const auto project = setup_request(api::http::verb::post, "/v1/projects", R"({"name":"fuzz"})");
  if (project.find(kProject) == std::string::npos) setup_failed("the project's id is not kProject: " + project);
  const auto task = setup_request(api::http::verb::post, fmt::format("/v1/projects/{}/tasks", kProject),
                                  R"({"title":"seed task","acceptance_criteria":["one","two"]})");
  if (task.find(kTask) == std::string::npos) setup_failed("the task's id is not kTask: " + task);
  setup_request(api::http::verb::post, fmt::format("/v1/projects/{}/members", kProject),
                fmt::format(R"({{"user_id":"{}","role":"viewer"}})", kBobId));
  // Torn down before the sanitizers' exit checks: the store's writer stops, the database is dropped.
  std::atexit([] {
    delete instance;
    instance = nullptr;
  });
}

}  // namespace

World world() {
  if (!instance) {
    try {
      build();
    } catch (const std::exception& e) {
      setup_failed(e.what());
    }
  }
  return World{instance->router, instance->services};
}

api::Response answer(const api::Request& request) {
  const auto w = world();
  auto response = api::handle_request(w.router, w.services, request);
  api::finish_response(response, request.version(), request.keep_alive(), request.method());
  return response;
}

}  // namespace tasklog::fuzz
