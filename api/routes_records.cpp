// /v1 record routes: a task's artifacts and messages, a project's checkpoints and decisions.
// All are appended once and never change, so lists page by the position that created them.
#include "api/idempotency.hpp"
#include "events/database.hpp"
#include "api/route_support.hpp"
#include "core/error_details.hpp"

#include <fmt/format.h>

namespace tasklog::api {
namespace {

using projections::CommandOutcome;

// One record kind: its table, its JSON shape (alias r), and which column scopes a list.
struct RecordKind {
  std::string_view table;
  std::string shape;
};

const RecordKind& artifacts() {
  static const RecordKind kind{
      "artifacts",
      fmt::format("json_build_object('id', r.id, 'project_id', r.project_id, 'task_id', r.task_id, 'type', r.type, "
                  "'ref', r.ref, 'summary', r.summary, 'content', r.content, 'content_bytes', r.content_bytes, "
                  "'created_by', r.created_by, 'created_at', {}, 'position', r.position)",
                  sql_ts("r.created_at"))};
  return kind;
}

const RecordKind& messages() {
  static const RecordKind kind{
      "task_messages",
      fmt::format("json_build_object('id', r.id, 'project_id', r.project_id, 'task_id', r.task_id, 'role', r.role, "
                  "'content', r.content, 'created_by', r.created_by, 'created_at', {}, 'position', r.position)",
                  sql_ts("r.created_at"))};
  return kind;
}

const RecordKind& checkpoints() {
  static const RecordKind kind{
      "checkpoints",
      fmt::format("json_build_object('id', r.id, 'project_id', r.project_id, 'task_id', r.task_id, 'label', r.label, "
                  "'summary', r.summary, 'repo_ref', r.repo_ref, 'resume_instructions', r.resume_instructions, "
                  "'log_position', r.log_position, 'tasks', r.tasks, 'created_by', r.created_by, 'created_at', {}, "
                  "'position', r.position)",
                  sql_ts("r.created_at"))};
  return kind;
}

const RecordKind& decisions() {
  static const RecordKind kind{
      "decisions",
      fmt::format("json_build_object('id', r.id, 'project_id', r.project_id, 'task_id', r.task_id, 'title', r.title, "
                  "'options', r.options, 'choice', r.choice, 'rationale', r.rationale, 'supersedes', r.supersedes, "
                  "'superseded_by', r.superseded_by, 'superseded_at', {}, 'created_by', r.created_by, "
                  "'created_at', {}, 'position', r.position)",
                  sql_ts("r.superseded_at"), sql_ts("r.created_at"))};
  return kind;
}

std::optional<std::string> load_record(pqxx::transaction_base& tx, const RecordKind& kind, const Uuid& id) {
  const auto r = events::exec_cached(tx, fmt::format("SELECT {}::text FROM readmodel.{} r WHERE r.id = $1", kind.shape, kind.table),
                                to_string(id));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

// A page of records of one task or project (`scope_column` = id), oldest first, after a position.
Response list_records(RequestContext& ctx, const RecordKind& kind, std::string_view scope_column, const Uuid& scope_id) {
  const std::size_t limit = page_limit(ctx);
  const std::int64_t after = position_cursor(ctx);
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    const auto rows = events::exec_cached(tx,
        fmt::format("SELECT {}::text, r.position FROM readmodel.{} r WHERE r.{} = $1 AND r.position > $2 "
                    "ORDER BY r.position LIMIT $3",
                    kind.shape, kind.table, scope_column),
        to_string(scope_id), after, static_cast<std::int64_t>(limit + 1));
    return position_page(rows, limit);
  });
}

template <class E>
Response created_record(RequestContext& ctx, const RecordKind& kind, const CommandOutcome& outcome,
                        Uuid E::*id_member) {
  const auto* created = find_event<E>(outcome);
  if (!created) throw DomainError(ErrorCode::internal, "the command appended no record");
  const Uuid id = created->*id_member;
  auto record = read_after_command(ctx, [&](pqxx::transaction_base& tx) { return load_record(tx, kind, id); });
  return command_response(http::status::created, record, outcome);
}

Response post_artifact(RequestContext& ctx) {
  const Uuid task_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  const CommandOutcome outcome = run_command(ctx, "append_artifact", body, {{"task_id", task_id}});
  return created_record(ctx, artifacts(), outcome, &ArtifactAppended::artifact_id);
}

Response list_artifacts(RequestContext& ctx) {
  const Uuid task_id = id_param(ctx, 0);
  check_task_access(ctx, task_id, Access::read);
  return list_records(ctx, artifacts(), "task_id", task_id);
}

Response post_message(RequestContext& ctx) {
  const Uuid task_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  const CommandOutcome outcome = run_command(ctx, "append_message", body, {{"task_id", task_id}});
  return created_record(ctx, messages(), outcome, &TaskMessageAppended::message_id);
}

Response list_messages(RequestContext& ctx) {
  const Uuid task_id = id_param(ctx, 0);
  check_task_access(ctx, task_id, Access::read);
  return list_records(ctx, messages(), "task_id", task_id);
}

Response post_checkpoint(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  const CommandOutcome outcome = run_command(ctx, "create_checkpoint", body, {{"project_id", project_id}});
  return created_record(ctx, checkpoints(), outcome, &CheckpointCreated::checkpoint_id);
}

Response list_checkpoints(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  check_project_access(ctx, project_id, Access::read);
  return list_records(ctx, checkpoints(), "project_id", project_id);
}

Response get_checkpoint(RequestContext& ctx) {
  const Uuid checkpoint_id = id_param(ctx, 0);
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) {
    auto checkpoint = load_record(tx, checkpoints(), checkpoint_id);
    if (!checkpoint)
      throw DomainError(ErrorCode::not_found, "no such checkpoint",
                        ErrorDetails().add("checkpoint_id", checkpoint_id).json());
    return data_response(http::status::ok, checkpoint);
  });
}

Response post_decision(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  auto body = json_body(ctx);
  const CommandOutcome outcome = run_command(ctx, "record_decision", body, {{"project_id", project_id}});
  return created_record(ctx, decisions(), outcome, &DecisionRecorded::decision_id);
}

Response list_decisions(RequestContext& ctx) {
  const Uuid project_id = id_param(ctx, 0);
  check_project_access(ctx, project_id, Access::read);
  return list_records(ctx, decisions(), "project_id", project_id);
}

}  // namespace

void add_record_routes(Router& router) {
  using http::verb;
  router.add(verb::post, "/v1/tasks/{id}/artifacts", with_idempotency(post_artifact));
  router.add(verb::get, "/v1/tasks/{id}/artifacts", list_artifacts);
  router.add(verb::post, "/v1/tasks/{id}/messages", with_idempotency(post_message));
  router.add(verb::get, "/v1/tasks/{id}/messages", list_messages);
  router.add(verb::post, "/v1/projects/{id}/checkpoints", with_idempotency(post_checkpoint));
  router.add(verb::get, "/v1/projects/{id}/checkpoints", list_checkpoints);
  router.add(verb::get, "/v1/checkpoints/{id}", get_checkpoint);
  router.add(verb::post, "/v1/projects/{id}/decisions", with_idempotency(post_decision));
  router.add(verb::get, "/v1/projects/{id}/decisions", list_decisions);
}

}  // namespace tasklog::api
