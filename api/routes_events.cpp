// /v1 event routes: the log itself, everything visible to the caller or one project's or one
// task's timeline, paged by position. Row-level security on `events` limits /v1/events to the
// caller's projects; the project and task timelines check access first so that a foreign id is
// a 404 rather than an empty page.
#include "api/route_support.hpp"
#include "events/database.hpp"

#include <fmt/format.h>

namespace tasklog::api {
namespace {

std::string event_json_sql() {
  return fmt::format(
      "json_build_object('position', e.position, 'event_id', e.event_id, 'stream_id', e.stream_id, "
      "'stream_type', e.stream_type, 'version', e.version, 'project_id', e.project_id, 'task_id', e.task_id, "
      "'actor_id', e.actor_id, 'type', e.type, 'schema_version', e.schema_version, 'payload', e.payload, "
      "'metadata', e.metadata, 'recorded_at', {}, 'prev_hash', encode(e.prev_hash, 'hex'), "
      "'hash', encode(e.hash, 'hex'))",
      sql_ts("e.recorded_at"));
}

// `scope` is a condition on e with $1 bound to `scope_id` (or "true" with no parameter use).
Response list_events(RequestContext& ctx, std::string_view scope, const std::optional<Uuid>& scope_id) {
  const std::size_t limit = page_limit(ctx);
  const std::int64_t after = position_cursor(ctx);
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    const std::string sql =
        fmt::format("SELECT {}::text, e.position FROM public.events e WHERE ($1::uuid IS NULL OR {}) "
                    "AND e.position > $2 ORDER BY e.position LIMIT $3",
                    event_json_sql(), scope);
    const std::optional<std::string> id = scope_id ? std::optional(to_string(*scope_id)) : std::nullopt;
    const auto rows = events::exec_cached(tx, sql, id, after, static_cast<std::int64_t>(limit + 1));
    return position_page(rows, limit);
  });
}

Response all_events(RequestContext& ctx) { return list_events(ctx, "true", std::nullopt); }

Response project_events(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  check_project_access(ctx, project_id, Access::read);
  return list_events(ctx, "e.project_id = $1::uuid", project_id);
}

Response task_events(RequestContext& ctx) {
  const Uuid task_id = id_param(ctx, 0);
  check_task_access(ctx, task_id, Access::read);
  return list_events(ctx, "e.task_id = $1::uuid", task_id);
}

}  // namespace

void add_event_routes(Router& router) {
  using http::verb;
  router.add(verb::get, "/v1/events", all_events);
  router.add(verb::get, "/v1/projects/{id}/events", project_events);
  router.add(verb::get, "/v1/tasks/{id}/events", task_events);
}

}  // namespace tasklog::api
