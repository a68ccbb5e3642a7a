// What every /v1 handler does the same way: read the JSON body, read path and query parameters,
// check the caller's access to a project, run a command as the caller, and shape the response.
//
// Access: a project is visible to its members (owner, member, viewer); anything else answers 404
// exactly like an unknown id. Reads need any role, writes need owner or member (a viewer gets 403
// forbidden); membership changes and the project's rules need owner — the rules hold the gates a
// member's work is judged by, so a member must not be able to loosen them — except that anyone may
// leave (remove themselves).
//
// Response envelope (docs/http-api.md): a resource is {"data": {...}}; a command adds "position"
// (of its last event) and "version" (of the stream it appended to); a list is
// {"data": [...], "next_cursor": "..." | null}.
#pragma once

#include "api/auth.hpp"
#include "api/router.hpp"
#include "api/services.hpp"
#include "core/commands.hpp"
#include "projections/task_engine.hpp"

#include <pqxx/pqxx>
#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace tasklog::api {

enum class Access { read, write, manage };

// The request body as a JSON object. 415 unsupported_media_type unless Content-Type is
// application/json (parameters like charset allowed); 400 malformed_json on bad syntax; limits of
// core/json.hpp; 400 validation_failed when it is not an object. An empty body reads as {}.
rapidjson::Document json_body(const RequestContext& ctx);

// Path capture `index` as a UUID; 400 validation_failed {"parameter": name} when malformed.
Uuid id_param(const RequestContext& ctx, std::size_t index, std::string_view name = "id");

// ?limit= within [1, limits.max_page_size] (default limits.default_page_size), else 400.
std::size_t page_limit(const RequestContext& ctx);
// An optional non-negative integer query parameter (e.g. after=, cursor=, at=), else 400.
std::optional<std::int64_t> int_query(const RequestContext& ctx, std::string_view name);

// The caller's role in the project, checked against `need`; throws not_found (invisible or
// unknown) or forbidden (visible but the role is too weak). tx must have begun as the user.
std::string require_project_access(pqxx::transaction_base& tx, const Uuid& project_id, Access need);
// The project of a visible task (not_found otherwise), access checked like the above.
Uuid require_task_access(pqxx::transaction_base& tx, const Uuid& task_id, Access need);

// ---- additions for the route files ----

// A 400 for a path segment, query parameter or header that does not parse ("keyword":"syntax").
[[noreturn]] void bad_parameter(std::string_view name, std::string message);

// Runs f(tx) in a read-only transaction begun as the caller (row-level security applies).
template <class F>
auto read_as_user(RequestContext& ctx, F&& f) {
  auto connection = ctx.services.pool.acquire();
  UserReadTransaction read(*connection, ctx.user().user_id);
  if constexpr (std::is_void_v<std::invoke_result_t<F, pqxx::transaction_base&>>) {
    f(read.tx());
    read.commit();
  } else {
    auto result = f(read.tx());
    read.commit();
    return result;
  }
}
void check_project_access(RequestContext& ctx, const Uuid& project_id, Access need);
Uuid check_task_access(RequestContext& ctx, const Uuid& task_id, Access need);

// Adds the path ids to the body (overwriting what the client sent: the path names the resource),
// parses and validates the command (400/422), executes it as the caller, blocking until commit.
// The caller's membership and role are checked by the engine under the append lock
// (member_check), against the project row the command is decided on: a member removed a moment
// earlier cannot get a command through, and a command costs no separate access query.
projections::CommandOutcome run_command(RequestContext& ctx, std::string_view command_name, rapidjson::Document& body,
                                        std::initializer_list<std::pair<std::string_view, Uuid>> path_ids = {},
                                        std::optional<std::int64_t> expected_version = {});

// The response of an asynchronous command route, made from the committed outcome. It runs on the
// connection's strand (Reply), so it must not read the database: it answers from the outcome.
using CommandAnswer = std::function<Response(const projections::CommandOutcome&)>;

// run_command for an asynchronous route (Router::add with an AsyncHandler): the same input and
// checks, and what they refuse throws here; then the command goes to the engine and the call
// returns at once, so the handler thread is not held while the writer batches and commits. The
// committed outcome reaches `answer`, the engine's refusal reaches `reply` as the error it is.
void run_command_async(RequestContext& ctx, Reply reply, std::string_view command_name, rapidjson::Document& body,
                       std::initializer_list<std::pair<std::string_view, Uuid>> path_ids, CommandAnswer answer,
                       std::optional<std::int64_t> expected_version = {});

// The Access rule of require_project_access, against the project as the engine's decider loaded
// it: not_found for a non-member, forbidden for a role too weak. Nothing to check without a project.
projections::Authorizer member_check(const Uuid& actor, Access need);

// The role a command needs (the rules above), from its name and its body as sent.
Access command_access(std::string_view command_name, const rapidjson::Document& body, const Uuid& caller);

// If-Match: <version> (an integer, optionally as a quoted entity tag); nullopt when absent or `*`.
std::optional<std::int64_t> if_match(const RequestContext& ctx);
// An If-Match value: the version, nullopt for `*` (any); 400 validation_failed for a weak tag or
// anything that is not a version.
std::optional<std::int64_t> parse_if_match(std::string_view text);

// Sets a string member on a document (copying key and value).
void set_member(rapidjson::Document& doc, std::string_view key, std::string_view value);

// ---- response shaping; `resource_json` is JSON text (typically built by PostgreSQL) ----

// {"data": resource} (resource "null" when absent); with `version`, also ETag: "<version>" so that
// a client can send it back as If-Match.
Response data_response(http::status status, const std::optional<std::string>& resource_json,
                       std::optional<std::int64_t> version = std::nullopt);
// {"data": resource, "position": P, "version": V[, "lease": lease]} for a command's outcome.
Response command_response(http::status status, const std::optional<std::string>& resource_json,
                          const projections::CommandOutcome& outcome,
                          const std::optional<std::string>& lease_json = std::nullopt);
// {"data": [items], "next_cursor": cursor | null}.
Response list_response(const std::vector<std::string>& items_json, const std::optional<std::string>& next_cursor);

// The first event of type E in an outcome (the one that names a created resource).
template <class E>
const E* find_event(const projections::CommandOutcome& outcome) {
  for (const auto& e : outcome.events)
    if (const auto* found = std::get_if<E>(&e)) return found;
  return nullptr;
}

// SQL: format_timestamp's text of a timestamptz expression (six fraction digits, Z).
std::string sql_ts(std::string_view column);

// ---- resource reads (under the caller's row-level security) ----

// A project with its members and the caller's role.
std::string project_json_sql(std::string_view alias = "p");
std::optional<std::string> load_project_json(pqxx::transaction_base& tx, const Uuid& project_id,
                                             std::int64_t* version = nullptr);
// Reads a resource as the caller right after a command (read-your-writes: the command committed).
// Reads what a command of the caller has just committed, for its response: one autocommit
// statement on the server's own role. The engine authorized the caller for exactly this resource
// under the append lock a moment ago (member_check), so row-level security would only repeat that
// check, at the price of a BEGIN and a COMMIT round trip on every command. Only for shapes that do
// not depend on who asks (the project's carries the caller's role: it reads with read_as_user).
template <class F>
auto read_after_command(RequestContext& ctx, F&& load) {
  auto connection = ctx.services.pool.acquire();
  pqxx::nontransaction tx(*connection, "read after command");
  return load(static_cast<pqxx::transaction_base&>(tx));
}

// Cursors of lists in creation order: "<created_at in epoch microseconds>_<id>", opaque to clients.
struct CreatedCursor {
  std::int64_t micros = 0;
  Uuid id{};
};
std::optional<CreatedCursor> created_cursor(const RequestContext& ctx);
std::string format_created_cursor(std::int64_t micros, std::string_view id);
// The cursor as the ($micros, $id) parameters of a creation-ordered query, null without one. As
// text: an optional<int64_t> handed to exec_params trips GCC 12's false -Wmaybe-uninitialized at
// -O3 (inside pqxx's inlined parameter conversion); the server reads the same number.
struct CreatedCursorParams {
  std::optional<std::string> micros{};
  std::optional<std::string> id{};
};
CreatedCursorParams created_cursor_params(const std::optional<CreatedCursor>& cursor);
// A page read as up to limit + 1 rows -> list_response. Rows of a creation-ordered list are
// (item JSON, created_at micros, id); rows of a log-ordered list are (item JSON, position).
Response creation_page(const pqxx::result& rows, std::size_t limit);
// The same for rows of task_columns_sql (api/task_json.hpp): items by task_json, the cursor from
// their created_at and id.
Response task_page(const pqxx::result& rows, std::size_t limit);
Response position_page(const pqxx::result& rows, std::size_t limit);
// DELETE bodies are often dropped by proxies: ?name=<uuid>, when given, goes into the body (400
// when it is not a UUID).
void query_uuid_into_body(const RequestContext& ctx, rapidjson::Document& body, std::string_view name);
// Position cursors ("after" a position): ?cursor= or ?after=.
std::int64_t position_cursor(const RequestContext& ctx);

// The statement that reads one page of events as JSON (`json`, `position` columns) for the /v1
// event routes: the whole visible log ($1 after, $2 limit), or one project's or task's timeline
// ($1 id, $2 after, $3 limit). Row-level security limits every scope to the caller's projects.
enum class EventScope { log, project, task };
std::string event_page_sql(EventScope scope);

// Each route group registers itself (api/routes_*.cpp); add_v1_routes calls them all.
void add_project_routes(Router& router);
void add_task_routes(Router& router);
void add_record_routes(Router& router);
void add_event_routes(Router& router);

}  // namespace tasklog::api
