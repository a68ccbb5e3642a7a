// /v1 task routes: create, list and pick a project's tasks; read and update a task; the lease
// and status commands; dependencies, criteria, gates and scope.
#include "api/idempotency.hpp"
#include "events/database.hpp"
#include "api/route_support.hpp"
#include "api/task_json.hpp"
#include "core/error_details.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>

namespace tasklog::api {
namespace {

using projections::CommandOutcome;

// The lease as its holder sees it, token included: only the claim, pick and heartbeat answers
// carry it, because only the caller of those commands holds it.
std::string lease_json(const Uuid& token, const std::string& agent, Timestamp expires_at, std::int64_t attempt) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  const std::string token_text = to_string(token);
  const std::string expires_text = format_timestamp(expires_at);
  w.StartObject();
  w.Key("token");
  w.String(token_text.c_str(), static_cast<rapidjson::SizeType>(token_text.size()));
  w.Key("agent");
  w.String(agent.c_str(), static_cast<rapidjson::SizeType>(agent.size()));
  w.Key("expires_at");
  w.String(expires_text.c_str(), static_cast<rapidjson::SizeType>(expires_text.size()));
  w.Key("attempt");
  w.Int64(attempt);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

Response task_command_response(const Uuid& task_id, const CommandOutcome& outcome,
                               http::status status = http::status::ok,
                               const std::optional<std::string>& lease = std::nullopt) {
  // The engine hands back the row its events left the task in (what the projector wrote: read-your-
  // writes without a read). Every command answered here appends to the task's own stream.
  if (!outcome.task || outcome.task->id != task_id)
    throw DomainError(ErrorCode::internal, "the command left no row of the task it answers with");
  return command_response(status, task_json(*outcome.task), outcome, lease);
}

// Every task route answers from the outcome alone (no read after the commit), so every one is
// asynchronous: its handler thread is free while the writer batches and commits the command.

// The answer that is the task the command left.
CommandAnswer task_answer(const Uuid& task_id) {
  return [task_id](const CommandOutcome& outcome) { return task_command_response(task_id, outcome); };
}

// The lease's token for its holder: only in the answer (the events carry its id alone).
const Uuid& answered_lease_token(const CommandOutcome& outcome) {
  if (!outcome.lease_token) throw DomainError(ErrorCode::internal, "the command's outcome carries no lease token");
  return *outcome.lease_token;
}

// The answer to a claim (a pick's or a named one's): the task and the lease it was given.
Response claimed_response(const TaskClaimed& claimed, const CommandOutcome& outcome) {
  return task_command_response(
      claimed.task_id, outcome, http::status::ok,
      lease_json(answered_lease_token(outcome), claimed.agent, claimed.expires_at, claimed.attempt));
}

// POST /v1/tasks/{id}/<verb>: the body plus the path's task id is the command's input.
AsyncHandler task_command(std::string_view command_name) {
  return [command_name](RequestContext& ctx, Reply reply) {
    const Uuid task_id = id_param(ctx, 0);
    auto body = json_body(ctx);
    run_command_async(ctx, std::move(reply), command_name, body, {{"task_id", task_id}}, task_answer(task_id));
  };
}

void create_task(RequestContext& ctx, Reply reply) {
  const Uuid project_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  run_command_async(ctx, std::move(reply), "create_task", body, {{"project_id", project_id}}, [](const CommandOutcome& outcome) {
    const auto* created = find_event<TaskCreated>(outcome);
    if (!created) throw DomainError(ErrorCode::internal, "create_task appended no TaskCreated");
    return task_command_response(created->task_id, outcome, http::status::created);
  });
}

template <class E>
void check_enum_filter(const RequestContext& ctx, std::string_view name) {
  const auto it = ctx.query.find(name);
  if (it != ctx.query.end() && !parse_enum<E>(it->second))
    bad_parameter(name, fmt::format("{} is not a known {}", it->second, name));
}

// Filters and the cursor are bound as parameters; the readiness test is the ready_tasks view's,
// written out over the base table so that it runs under the caller's row-level security.
Response list_tasks(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  check_enum_filter<TaskStatus>(ctx, "status");
  check_enum_filter<Priority>(ctx, "priority");
  std::optional<bool> ready;  // none: both; false: the tasks that are not ready
  if (const auto it = ctx.query.find("ready"); it != ctx.query.end()) {
    if (it->second != "true" && it->second != "false") bad_parameter("ready", "ready must be true or false");
    ready = it->second == "true";
  }
  const std::size_t limit = page_limit(ctx);
  const auto cursor = created_cursor(ctx);
  auto status = ctx.query.find("status");
  auto priority = ctx.query.find("priority");
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    require_project_access(tx, project_id, Access::read);
    static const std::string sql = fmt::format(
        R"(SELECT {}
  FROM readmodel.tasks t
 WHERE t.project_id = $1
   AND ($2::text IS NULL OR t.status = $2)
   AND ($3::text IS NULL OR t.priority = $3)
   AND ($4::boolean IS NULL OR $4 = (t.status = 'todo'
                   AND (t.next_retry_at IS NULL OR t.next_retry_at <= now())
                   AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= now())
                   AND NOT EXISTS (SELECT 1 FROM readmodel.task_dependencies d
                                     LEFT JOIN readmodel.tasks dep ON dep.id = d.depends_on
                                    WHERE d.task_id = t.id AND dep.status IS DISTINCT FROM 'done')))
   AND ($5::bigint IS NULL OR (t.created_at, t.id) > ('epoch'::timestamptz + $5 * interval '1 microsecond', $6::uuid))
 ORDER BY t.created_at, t.id
 LIMIT $7)",
        task_columns_sql());
    const std::optional<std::string> status_filter =
        status == ctx.query.end() ? std::nullopt : std::optional<std::string>(status->second);
    const std::optional<std::string> priority_filter =
        priority == ctx.query.end() ? std::nullopt : std::optional<std::string>(priority->second);
    const auto c = created_cursor_params(cursor);
    const auto rows = events::exec_cached(tx, sql, to_string(project_id), status_filter, priority_filter, ready,
                                          c.micros, c.id, static_cast<std::int64_t>(limit + 1));
    return task_page(rows, limit);
  });
}

// 200 with the task and its lease, or 204 when nothing is ready.
void pick_next(RequestContext& ctx, Reply reply) {
  const Uuid project_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  run_command_async(ctx, std::move(reply), "pick_next_task", body, {{"project_id", project_id}}, [](const CommandOutcome& outcome) {
    const auto* claimed = find_event<TaskClaimed>(outcome);
    if (!claimed) {
      Response response{http::status::no_content, 11};
      response.prepare_payload();
      return response;
    }
    return claimed_response(*claimed, outcome);
  });
}

void claim(RequestContext& ctx, Reply reply) {
  const Uuid task_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  run_command_async(ctx, std::move(reply), "claim_task", body, {{"task_id", task_id}}, [](const CommandOutcome& outcome) {
    const auto* claimed = find_event<TaskClaimed>(outcome);
    if (!claimed) throw DomainError(ErrorCode::internal, "claim_task appended no TaskClaimed");
    return claimed_response(*claimed, outcome);
  });
}

// The holder sent its token, so the extended lease (token included) goes back to it.
void heartbeat(RequestContext& ctx, Reply reply) {
  const Uuid task_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  run_command_async(ctx, std::move(reply), "heartbeat", body, {{"task_id", task_id}}, [task_id](const CommandOutcome& outcome) {
    const auto* extended = find_event<TaskLeaseExtended>(outcome);
    if (!extended) throw DomainError(ErrorCode::internal, "heartbeat appended no TaskLeaseExtended");
    // Agent and attempt from the row the extension left (CommandOutcome::task): the event carries
    // only the token and the new expiry.
    if (!outcome.task || !outcome.task->lease)
      throw DomainError(ErrorCode::internal, "heartbeat left the task without a lease");
    const Lease& lease = *outcome.task->lease;
    return task_command_response(task_id, outcome, http::status::ok,
                                 lease_json(answered_lease_token(outcome), lease.agent, extended->expires_at, lease.attempt));
  });
}

// Never blocks (the server runs it on the connection's I/O thread): the read, and for a malformed
// id the token's sign-in, are handed to TaskReads, whose call signs the token in and reads the task
// as its user, shared with the other reads of the same token waiting at that moment; reading needs
// no more than membership, and row-level security already hides a task of a project the caller is
// not a member of (the same 404 as an unknown id).
void get_task(RequestContext& ctx, Reply reply) {
  const auto task_id = parse_uuid(ctx.params.at(0));
  // Refusals keep their order on every route: an unknown token is a 401 before a bad id is a 400.
  std::exception_ptr bad_id;
  if (!task_id) {
    try {
      id_param(ctx, 0);  // throws the 400
    } catch (...) {
      bad_id = std::current_exception();
    }
  }
  ctx.services.task_reads.read(ctx.bearer_token, task_id,
                               [reply, task_id, bad_id](std::exception_ptr error, std::optional<pqxx::row> row) {
    if (error) return reply.fail(error);
    if (bad_id) return reply.fail(bad_id);
    if (!row) {
      return reply.answer([id = *task_id]() -> Response {
        throw DomainError(ErrorCode::not_found, "no such task", ErrorDetails().add("task_id", id).json());
      });
    }
    // Written in the maker (on the connection's strand), so that whatever the row's conversion
    // throws becomes the error response like any handler's; thrown here, on the lane, nothing
    // would answer.
    reply.answer([row = std::move(*row)] {
      return data_response(http::status::ok, task_json(row), row["version"].as<std::int64_t>());
    });
  });
}

void patch_task(RequestContext& ctx, Reply reply) {
  const Uuid task_id = id_param(ctx, 0);
  const auto expected = if_match(ctx);
  auto body = json_body(ctx);
  run_command_async(ctx, std::move(reply), "update_task", body, {{"task_id", task_id}}, task_answer(task_id), expected);
}

// DELETE may name the dependency as ?depends_on= (bodies on DELETE are often dropped by
// proxies) or in a JSON body.
void remove_dependency(RequestContext& ctx, Reply reply) {
  const Uuid task_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  query_uuid_into_body(ctx, body, "depends_on");
  run_command_async(ctx, std::move(reply), "remove_dependency", body, {{"task_id", task_id}}, task_answer(task_id));
}

void mark_criterion(RequestContext& ctx, Reply reply) {
  const Uuid task_id = id_param(ctx, 0);
  const std::string& index_text = ctx.params.at(1);
  std::int64_t index = -1;
  const auto [end, ec] = std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
  if (ec != std::errc() || end != index_text.data() + index_text.size() || index < 0)
    bad_parameter("index", "index must be a non-negative integer");
  auto body = json_body(ctx);
  body.RemoveMember("index");
  body.AddMember("index", rapidjson::Value(index), body.GetAllocator());
  run_command_async(ctx, std::move(reply), "mark_criterion_met", body, {{"task_id", task_id}}, task_answer(task_id));
}

}  // namespace

void add_task_routes(Router& router) {
  using http::verb;
  router.add(verb::post, "/v1/projects/{id}/tasks", with_idempotency(create_task));
  router.add(verb::get, "/v1/projects/{id}/tasks", list_tasks);
  router.add(verb::post, "/v1/projects/{id}/tasks/next", with_idempotency(pick_next));
  router.add(verb::get, "/v1/tasks/{id}", get_task, {.checks_token_itself = true, .never_blocks = true});
  router.add(verb::patch, "/v1/tasks/{id}", with_idempotency(patch_task));
  router.add(verb::post, "/v1/tasks/{id}/claim", with_idempotency(claim));
  router.add(verb::post, "/v1/tasks/{id}/heartbeat", with_idempotency(heartbeat));
  router.add(verb::post, "/v1/tasks/{id}/release", with_idempotency(task_command("release_task")));
  router.add(verb::post, "/v1/tasks/{id}/block", with_idempotency(task_command("block_task")));
  router.add(verb::post, "/v1/tasks/{id}/unblock", with_idempotency(task_command("unblock_task")));
  router.add(verb::post, "/v1/tasks/{id}/complete", with_idempotency(task_command("complete_task")));
  router.add(verb::post, "/v1/tasks/{id}/fail", with_idempotency(task_command("fail_task")));
  router.add(verb::post, "/v1/tasks/{id}/cancel", with_idempotency(task_command("cancel_task")));
  router.add(verb::post, "/v1/tasks/{id}/reopen", with_idempotency(task_command("reopen_task")));
  router.add(verb::post, "/v1/tasks/{id}/dependencies", with_idempotency(task_command("add_dependency")));
  router.add(verb::delete_, "/v1/tasks/{id}/dependencies", remove_dependency);
  router.add(verb::post, "/v1/tasks/{id}/criteria/{index}", with_idempotency(mark_criterion));
  router.add(verb::post, "/v1/tasks/{id}/gates/evaluate", with_idempotency(task_command("evaluate_gates")));
  router.add(verb::post, "/v1/tasks/{id}/scope", with_idempotency(task_command("assert_scope")));
  router.add(verb::post, "/v1/tasks/{id}/git", with_idempotency(task_command("record_git_info")));
  router.add(verb::post, "/v1/tasks/{id}/usage", with_idempotency(task_command("record_usage")));
}

}  // namespace tasklog::api
