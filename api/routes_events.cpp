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

Response list_events(RequestContext& ctx, EventScope scope, const std::optional<Uuid>& scope_id) {
  const std::size_t limit = page_limit(ctx);
  const std::int64_t after = position_cursor(ctx);
  const auto rows_limit = static_cast<std::int64_t>(limit + 1);
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    const std::string sql = event_page_sql(scope);
    const auto rows = scope_id ? events::exec_cached(tx, sql, to_string(*scope_id), after, rows_limit)
                               : events::exec_cached(tx, sql, after, rows_limit);
    return position_page(rows, limit);
  });
}

}  // namespace

std::string event_page_sql(EventScope scope) {
  // A timeline is a range of its index whatever plan the pooled connection settles on (see
  // events::scope_page_sql); the whole visible log is a range of the primary key anyway.
  const std::string condition =
      scope == EventScope::project ? events::scope_page_sql("e.", "project_id", "$1::uuid", "$2", "$3")
      : scope == EventScope::task  ? events::scope_page_sql("e.", "task_id", "$1::uuid", "$2", "$3")
                                   : "e.position > $1 ORDER BY e.position LIMIT $2";
  return fmt::format("SELECT {}::text, e.position FROM public.events e WHERE {}", event_json_sql(), condition);
}

namespace {

Response all_events(RequestContext& ctx) { return list_events(ctx, EventScope::log, std::nullopt); }

Response project_events(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  check_project_access(ctx, project_id, Access::read);
  return list_events(ctx, EventScope::project, project_id);
}

Response task_events(RequestContext& ctx) {
  const Uuid task_id = id_param(ctx, 0);
  check_task_access(ctx, task_id, Access::read);
  return list_events(ctx, EventScope::task, task_id);
}

}  // namespace

void add_event_routes(Router& router) {
  using http::verb;
  router.add(verb::get, "/v1/events", all_events);
  router.add(verb::get, "/v1/projects/{id}/events", project_events);
  router.add(verb::get, "/v1/tasks/{id}/events", task_events);
}

}  // namespace tasklog::api
