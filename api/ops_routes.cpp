// Operator endpoints, unauthenticated so that load balancers and Prometheus need no token:
// /healthz (the process answers), /readyz (the database answers and its schema is the one this
// binary expects), /metrics (Prometheus text).
#include "api/router.hpp"
#include "api/services.hpp"

#include "core/error_details.hpp"
#include "events/migrator.hpp"

#include <map>

namespace tasklog::api {
namespace {

// version -> checksum of every migration this binary carries; computed once (SHA-256 of each file).
const std::map<int, std::string>& expected_migrations() {
  static const std::map<int, std::string> expected = [] {
    std::map<int, std::string> m;
    for (const auto& migration : events::embedded_migrations()) m.emplace(migration.version, events::migration_checksum(migration));
    return m;
  }();
  return expected;
}

Response readyz(RequestContext& ctx) {
  // Through the pool, not a connection of its own: "ready" must mean requests can get a
  // connection, and a probe must not open one per call. Errors (database down) become 503 in the
  // router.
  auto connection = ctx.services.pool.acquire();
  std::map<int, std::string> applied;
  {
    pqxx::read_transaction tx(*connection);
    if (!tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>()) {
      throw DomainError(ErrorCode::unavailable, "the database has no schema yet: run `tasklog migrate`",
                        ErrorDetails{}.add("pending", static_cast<std::int64_t>(expected_migrations().size())).json());
    }
    for (const auto& row : tx.exec("SELECT version, checksum FROM schema_migrations")) {
      applied.emplace(row[0].as<int>(), row[1].as<std::string>());
    }
  }
  std::int64_t pending = 0;
  std::int64_t mismatched = 0;
  for (const auto& [version, checksum] : expected_migrations()) {
    const auto it = applied.find(version);
    if (it == applied.end()) ++pending;
    else if (it->second != checksum) ++mismatched;
  }
  if (pending > 0 || mismatched > 0) {
    throw DomainError(ErrorCode::unavailable,
                      "the database schema is not the one this binary expects: run `tasklog migrate`",
                      ErrorDetails{}.add("pending", pending).add("mismatched", mismatched).json());
  }
  return json_response(http::status::ok,
                       "{\"status\":\"ready\",\"migrations\":" + std::to_string(expected_migrations().size()) + "}");
}

}  // namespace

void add_ops_routes(Router& router) {
  const RouteOptions open{.authenticated = false};
  router.add(
      http::verb::get, "/healthz",
      [](RequestContext&) { return json_response(http::status::ok, R"({"status":"ok"})"); }, open);
  router.add(http::verb::get, "/readyz", readyz, open);
  router.add(
      http::verb::get, "/metrics",
      [](RequestContext& ctx) {
        Response response{http::status::ok, 11};
        response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        response.body() = ctx.services.metrics.render(ctx.services);
        response.prepare_payload();
        return response;
      },
      open);
}

}  // namespace tasklog::api
