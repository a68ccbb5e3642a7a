#include "projections/project_context.hpp"

#include "core/json.hpp"
#include "events/database.hpp"

#include <fmt/format.h>

#include <map>
#include <string>

namespace tasklog::projections {
namespace {

// format_timestamp's text (six fraction digits, Z), so both sources print a time alike.
std::string ts(std::string_view column) {
  return fmt::format(R"(to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))", column);
}

// The orders and the decision limit are context_view()'s (context_shape.cpp). json_strip_nulls
// drops absent optional members, as the codec omits them. `position` is the project's last event:
// the same statement snapshot as the rows, so it is exactly what they reflect (OFFSET 0 keeps the
// planner from copying its subquery into both places that use it: one index probe, not two).
std::string context_sql(const std::string& s) {
  return fmt::format(
      R"SQL(
SELECT h.position, json_strip_nulls(json_build_object(
  'position', h.position,
  'project', json_build_object(
      'id', p.id, 'name', p.name, 'description', p.description, 'archived', p.archived,
      'version', p.version, 'rules', p.rules, 'updated_at', {p_updated}),
  'tasks', coalesce((
      SELECT json_agg(json_build_object(
               'id', t.id, 'title', t.title, 'type', t.type, 'status', t.status, 'priority', t.priority,
               'version', t.version, 'attempts', t.attempts, 'next_retry_at', {t_retry},
               'parent_task_id', t.parent_task_id,
               'dependencies', coalesce((SELECT json_agg(d.depends_on ORDER BY d.ordinal)
                                           FROM {s}.task_dependencies d WHERE d.task_id = t.id), '[]'::json),
               'criteria_met', (SELECT count(*) FROM jsonb_array_elements(t.acceptance_criteria) c
                                 WHERE (c ->> 'met')::boolean),
               'criteria_total', jsonb_array_length(t.acceptance_criteria),
               'artifact_count', jsonb_array_length(t.artifact_refs),
               'block_reason', t.block_reason,
               'updated_at', {t_updated})
             ORDER BY t.created_at, t.id)
        FROM {s}.tasks t WHERE t.project_id = p.id), '[]'::json),
  'active_tasks', coalesce((
      SELECT json_agg(json_build_object(
               'id', t.id, 'title', t.title, 'agent', t.lease_agent, 'acquired_at', {t_acquired},
               'expires_at', {t_expires}, 'attempt', t.lease_attempt)
             ORDER BY t.lease_acquired_at, t.id)
        FROM {s}.tasks t
       WHERE t.project_id = p.id AND t.status = 'in_progress' AND t.lease_token IS NOT NULL), '[]'::json),
  'latest_checkpoint', (
      SELECT json_build_object(
               'id', c.id, 'task_id', c.task_id, 'label', c.label, 'summary', c.summary, 'repo_ref', c.repo_ref,
               'resume_instructions', c.resume_instructions, 'log_position', c.log_position, 'tasks', c.tasks,
               'created_at', {c_created}, 'position', c.position)
        FROM {s}.checkpoints c WHERE c.project_id = p.id ORDER BY c.position DESC LIMIT 1),
  'recent_decisions', coalesce((
      SELECT json_agg(json_build_object(
               'id', d.id, 'task_id', d.task_id, 'title', d.title, 'options', d.options, 'choice', d.choice,
               'rationale', d.rationale, 'supersedes', d.supersedes, 'superseded_by', d.superseded_by,
               'created_at', {d_created}, 'position', d.position)
             ORDER BY d.position DESC)
        FROM (SELECT * FROM {s}.decisions WHERE project_id = p.id ORDER BY position DESC LIMIT $2) d), '[]'::json)
))::text
  FROM {s}.projects p
 CROSS JOIN LATERAL (SELECT {head} AS position OFFSET 0) h
 WHERE p.id = $1)SQL",
      fmt::arg("s", s), fmt::arg("head", events::project_head_sql("p.id")), fmt::arg("p_updated", ts("p.updated_at")), fmt::arg("t_retry", ts("t.next_retry_at")),
      fmt::arg("t_updated", ts("t.updated_at")), fmt::arg("t_acquired", ts("t.lease_acquired_at")),
      fmt::arg("t_expires", ts("t.lease_expires_at")), fmt::arg("c_created", ts("c.created_at")),
      fmt::arg("d_created", ts("d.created_at")));
}

}  // namespace

std::optional<ProjectContext> load_project_context(pqxx::transaction_base& tx, const Uuid& project_id,
                                                   const ContextOptions& options, std::string_view schema) {
  // Prepared once per connection and schema; re-preparing the same text is a no-op.
  const std::string name = "tasklog_project_context_" + std::string(schema);
  thread_local std::map<std::string, std::string, std::less<>> sql_by_schema;
  auto sql = sql_by_schema.find(schema);
  if (sql == sql_by_schema.end())
    sql = sql_by_schema.emplace(std::string(schema), context_sql(tx.quote_name(std::string(schema)))).first;
  tx.conn().prepare(name, sql->second);
  const auto r = tx.exec_prepared(name, to_string(project_id), static_cast<std::int64_t>(options.recent_decisions));
  if (r.empty()) return std::nullopt;
  return ProjectContext{.json = canonical_json(std::string_view(r[0][1].c_str(), r[0][1].size())),
                        .position = r[0][0].as<events::Position>()};
}

}  // namespace tasklog::projections
