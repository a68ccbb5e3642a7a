// /v1 project routes: create, list, read and update projects; members; the context an agent
// reads (now or as of a point of the log); what changed between two points; active tasks and
// progress.
#include "api/idempotency.hpp"
#include "events/database.hpp"
#include "api/route_support.hpp"
#include "core/error_details.hpp"
#include "events/event_reader.hpp"
#include "projections/project_context.hpp"
#include "projections/project_diff.hpp"
#include "projections/time_travel.hpp"

#include <fmt/format.h>

namespace tasklog::api {
namespace {

using events::Position;
using projections::CommandOutcome;

Response project_command_response(RequestContext& ctx, const Uuid& project_id, const CommandOutcome& outcome,
                                  http::status status = http::status::ok) {
  auto project = read_as_user(ctx, [&](pqxx::transaction_base& tx) { return load_project_json(tx, project_id); });
  return command_response(status, project, outcome);
}

Response create_project(RequestContext& ctx) {
  auto body = json_body(ctx);
  const CommandOutcome outcome = run_command(ctx, "create_project", body);
  const auto* created = find_event<ProjectCreated>(outcome);
  if (!created) throw DomainError(ErrorCode::internal, "create_project appended no ProjectCreated");
  return project_command_response(ctx, created->project_id, outcome, http::status::created);
}

// The projects the caller is a member of: row-level security filters, the query does not.
Response list_projects(RequestContext& ctx) {
  const std::size_t limit = page_limit(ctx);
  const auto cursor = created_cursor(ctx);
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    static const std::string sql = fmt::format(
        R"(SELECT {}::text, (extract(epoch FROM p.created_at) * 1000000)::bigint, p.id
  FROM readmodel.projects p
 WHERE ($1::bigint IS NULL OR (p.created_at, p.id) > ('epoch'::timestamptz + $1 * interval '1 microsecond', $2::uuid))
 ORDER BY p.created_at, p.id
 LIMIT $3)",
        project_json_sql());
    const auto c = created_cursor_params(cursor);
    return creation_page(events::exec_cached(tx, sql, c.micros, c.id, static_cast<std::int64_t>(limit + 1)), limit);
  });
}

Response get_project(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    require_project_access(tx, project_id, Access::read);
    std::int64_t version = 0;
    auto project = load_project_json(tx, project_id, &version);
    return data_response(http::status::ok, project, version);
  });
}

// A command on the project the path names, with the version an If-Match expects:
// update_project (PATCH), and archive_project — for good (there is no unarchive), the owner's
// (command_access).
Handler project_command(std::string_view command_name) {
  return [command_name](RequestContext& ctx) {
    const Uuid project_id = id_param(ctx, 0);
    const auto expected = if_match(ctx);
    auto body = json_body(ctx);
    const CommandOutcome outcome = run_command(ctx, command_name, body, {{"project_id", project_id}}, expected);
    return project_command_response(ctx, project_id, outcome);
  };
}

// The user must exist: a membership of nobody would be a dangling grant waiting for an id.
void require_user_exists(RequestContext& ctx, const rapidjson::Document& body) {
  const auto it = body.FindMember("user_id");
  if (it == body.MemberEnd() || !it->value.IsString()) return;  // the schema refuses it next
  const auto user_id = parse_uuid({it->value.GetString(), it->value.GetStringLength()});
  if (!user_id) return;
  auto connection = ctx.services.pool.acquire();
  if (!find_user(*connection, *user_id))
    throw DomainError(ErrorCode::not_found, "no such user", ErrorDetails().add("user_id", *user_id).json());
}

Response add_member(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  check_project_access(ctx, project_id, Access::manage);
  require_user_exists(ctx, body);
  const CommandOutcome outcome = run_command(ctx, "add_member", body, {{"project_id", project_id}});
  return project_command_response(ctx, project_id, outcome);
}

// ?user_id= or a JSON body {"user_id"} (bodies on DELETE are often dropped by proxies).
Response remove_member(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  query_uuid_into_body(ctx, body, "user_id");
  check_project_access(ctx, project_id, command_access("remove_member", body, ctx.user().user_id));
  const CommandOutcome outcome = run_command(ctx, "remove_member", body, {{"project_id", project_id}});
  const auto* removed = find_event<ProjectMemberRemoved>(outcome);
  if (removed && removed->user_id == ctx.user().user_id) {
    // An owner who left: row-level security no longer shows them the project, yet the answer is the
    // project their own command left (what they saw a moment ago, minus themselves). Read past it.
    auto connection = ctx.services.pool.acquire();
    pqxx::read_transaction tx(*connection);
    return command_response(http::status::ok, load_project_json(tx, project_id), outcome);
  }
  return project_command_response(ctx, project_id, outcome);
}

// ?name= as a point of the log: a position, or an RFC 3339 time (the last event at or before it).
std::optional<projections::LogPoint> log_point_query(const RequestContext& ctx, std::string_view name) {
  const auto it = ctx.query.find(name);
  if (it == ctx.query.end()) return std::nullopt;
  auto point = projections::parse_log_point(it->second);
  // A query string's '+' decodes to a space (HTML forms' rule), so "?at=…T14:00:00+02:00" typed
  // as is arrives as "…T14:00:00 02:00". No time has a space after its seconds: read it as the '+'.
  if (!point && it->second.size() > 19) {
    std::string text = it->second;
    if (const auto space = text.find(' ', 19); space != std::string::npos) text[space] = '+';
    point = projections::parse_log_point(text);
  }
  if (!point) bad_parameter(name, fmt::format("{} must be a log position or an RFC 3339 time", name));
  return point;
}

// The points a request names must lie within the log's history (projections::require_in_history),
// checked against the whole log: on a pooled connection as the login user, one round trip.
void require_in_history(RequestContext& ctx,
                        std::initializer_list<std::pair<std::string_view, const std::optional<projections::LogPoint>*>> points) {
  if (std::none_of(points.begin(), points.end(), [](const auto& p) { return p.second->has_value(); })) return;
  auto connection = ctx.services.pool.acquire();
  pqxx::nontransaction tx(*connection, "log now");
  const auto log = projections::log_now(tx);
  for (const auto& [name, point] : points)
    if (*point) projections::require_in_history(**point, log, name);
}

Response get_context(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  const auto at = log_point_query(ctx, "at");
  require_in_history(ctx, {{"at", &at}});
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    require_project_access(tx, project_id, Access::read);
    const auto position = at ? std::optional(projections::resolve_log_point(tx, *at)) : std::nullopt;
    const auto context = position ? projections::project_context_at(tx, project_id, *position)
                                  : projections::load_project_context(tx, project_id);
    if (!context)
      throw DomainError(ErrorCode::not_found, "the project did not exist at that position",
                        ErrorDetails().add("project_id", project_id).add("at", position.value_or(0)).json());
    return data_response(http::status::ok, context->json);
  });
}

// The state after `from` against the state after `to` (default: the head), folded from the log.
Response get_diff(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  const auto from_point = log_point_query(ctx, "from");
  if (!from_point) bad_parameter("from", "from is required: a log position or an RFC 3339 time");
  const auto to_point = log_point_query(ctx, "to");
  require_in_history(ctx, {{"from", &from_point}, {"to", &to_point}});
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    require_project_access(tx, project_id, Access::read);
    const Position from = projections::resolve_log_point(tx, *from_point);
    const Position to =
        to_point ? projections::resolve_log_point(tx, *to_point) : events::EventReader(tx).head();
    if (from > to) bad_parameter("from", fmt::format("from ({}) is after to ({})", from, to));
    const auto diff = projections::diff_project(tx, project_id, from, to);
    if (!diff)
      throw DomainError(ErrorCode::not_found, "the project did not exist at that position",
                        ErrorDetails().add("project_id", project_id).add("to", to).json());
    return data_response(http::status::ok, diff->json());
  });
}

// Work that is not finished: waiting, held or blocked, with whether its holder's lease is live.
Response active_tasks(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  const std::size_t limit = page_limit(ctx);
  const auto cursor = created_cursor(ctx);
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    require_project_access(tx, project_id, Access::read);
    static const std::string sql = fmt::format(
        R"(SELECT json_build_object(
         'id', t.id, 'title', t.title, 'type', t.type, 'status', t.status, 'priority', t.priority,
         'version', t.version, 'attempts', t.attempts, 'agent', t.lease_agent,
         'lease_expires_at', {expires},
         'lease_live', (t.lease_expires_at IS NOT NULL AND t.lease_expires_at > now()),
         'block_reason', t.block_reason, 'needs_human', t.needs_human, 'updated_at', {updated})::text,
       (extract(epoch FROM t.created_at) * 1000000)::bigint, t.id
  FROM readmodel.tasks t
 WHERE t.project_id = $1 AND t.status IN ('todo', 'in_progress', 'blocked')
   AND ($2::bigint IS NULL OR (t.created_at, t.id) > ('epoch'::timestamptz + $2 * interval '1 microsecond', $3::uuid))
 ORDER BY t.created_at, t.id
 LIMIT $4)",
        fmt::arg("expires", sql_ts("t.lease_expires_at")), fmt::arg("updated", sql_ts("t.updated_at")));
    const auto c = created_cursor_params(cursor);
    return creation_page(
        events::exec_cached(tx, sql, to_string(project_id), c.micros, c.id, static_cast<std::int64_t>(limit + 1)), limit);
  });
}

// Counts by status, readiness, criteria and artifacts, and the position they reflect, in one
// statement (one snapshot).
Response progress(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    require_project_access(tx, project_id, Access::read);
    static const std::string sql = fmt::format(R"(
SELECT json_build_object(
  'project_id', $1::uuid,
  'position', {},
  'total', count(t.id),
  'by_status', json_build_object(
      'todo', count(t.id) FILTER (WHERE t.status = 'todo'),
      'in_progress', count(t.id) FILTER (WHERE t.status = 'in_progress'),
      'blocked', count(t.id) FILTER (WHERE t.status = 'blocked'),
      'done', count(t.id) FILTER (WHERE t.status = 'done'),
      'failed', count(t.id) FILTER (WHERE t.status = 'failed'),
      'cancelled', count(t.id) FILTER (WHERE t.status = 'cancelled')),
  'ready', count(t.id) FILTER (WHERE t.status = 'todo'
                   AND (t.next_retry_at IS NULL OR t.next_retry_at <= now())
                   AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= now())
                   AND NOT EXISTS (SELECT 1 FROM readmodel.task_dependencies d
                                     LEFT JOIN readmodel.tasks dep ON dep.id = d.depends_on
                                    WHERE d.task_id = t.id AND dep.status IS DISTINCT FROM 'done')),
  'criteria_total', coalesce(sum(jsonb_array_length(t.acceptance_criteria)), 0),
  'criteria_met', coalesce(sum((SELECT count(*) FROM jsonb_array_elements(t.acceptance_criteria) c
                                 WHERE (c ->> 'met')::boolean)), 0),
  'artifacts', coalesce(sum(jsonb_array_length(t.artifact_refs)), 0),
  'percent_done', CASE WHEN count(t.id) FILTER (WHERE t.status <> 'cancelled') = 0 THEN 0
                       ELSE round(100.0 * count(t.id) FILTER (WHERE t.status = 'done')
                                  / count(t.id) FILTER (WHERE t.status <> 'cancelled'), 1) END)::text
  FROM readmodel.tasks t WHERE t.project_id = $1::uuid)",
                                               events::project_head_sql("$1::uuid"));
    const auto r = events::exec_cached(tx, sql, to_string(project_id));
    return data_response(http::status::ok, r[0][0].as<std::string>());
  });
}

}  // namespace

void add_project_routes(Router& router) {
  using http::verb;
  router.add(verb::post, "/v1/projects", with_idempotency(create_project));
  router.add(verb::get, "/v1/projects", list_projects);
  router.add(verb::get, "/v1/projects/{id}", get_project);
  router.add(verb::patch, "/v1/projects/{id}", with_idempotency(project_command("update_project")));
  router.add(verb::post, "/v1/projects/{id}/archive", with_idempotency(project_command("archive_project")));
  router.add(verb::post, "/v1/projects/{id}/members", with_idempotency(add_member));
  router.add(verb::delete_, "/v1/projects/{id}/members", remove_member);
  router.add(verb::get, "/v1/projects/{id}/context", get_context);
  router.add(verb::get, "/v1/projects/{id}/diff", get_diff);
  router.add(verb::get, "/v1/projects/{id}/active-tasks", active_tasks);
  router.add(verb::get, "/v1/projects/{id}/progress", progress);
}

}  // namespace tasklog::api
