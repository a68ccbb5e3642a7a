-- GET /v1/tasks/{id} as one prepared statement: SELECT * FROM public.tasklog_read_task($1, $2).
--
-- 0006 made the read one round trip, but as a simple-query message of four statements (SET
-- TRANSACTION READ ONLY; SELECT tasklog_sign_in; SET LOCAL ROLE; EXECUTE) that PostgreSQL parses on
-- every call, and the EXECUTE built the task's JSON in SQL. pgbench on one task row, 32 clients:
-- that message ~6,300 calls/s; this function ~15,000–19,000 (the plain point select: ~50,000).
--
-- Same rules as before: an unknown, revoked or expired token raises TL401 (tasklog_sign_in) before
-- anything is read; the row is read as tasklog_query with tasklog.user_id set, so row-level
-- security hides a task of a project the caller is not a member of (no row: the same 404 as an
-- unknown id); read only. The SETs are LOCAL: they end with the transaction. Call it only as a
-- statement of its own (autocommit), never inside a longer transaction, or the statements after it
-- would still run as tasklog_query.
--
-- PL/pgSQL, so the inner SELECT is planned after the role is switched (row-level security applies)
-- and its plan lives for the session.
--
-- The columns are those of api/task_json.hpp kTaskColumns, in its order (timestamps as epoch
-- microseconds); api tests compare this function's rows with the server's own read of the same
-- columns. A change of the task's columns replaces this function in a later migration.
CREATE OR REPLACE FUNCTION public.tasklog_read_task(presented_hash text, wanted_task uuid)
RETURNS TABLE (
  id uuid, project_id uuid, title text, description text, type text, priority text, status text, version bigint,
  lease_agent text, lease_acquired_at bigint, lease_expires_at bigint, lease_attempt bigint, attempts bigint,
  next_retry_at bigint, acceptance_criteria jsonb, constraints jsonb, parent_task_id uuid, timebox_seconds bigint,
  dependencies json, git jsonb, usage_tokens bigint, usage_cost_usd double precision, gate_results jsonb,
  gates_evaluated_at bigint, last_scope_check jsonb, artifact_refs jsonb, message_count bigint,
  completion_summary text, result_artifact_ids jsonb, failure_reason text, block_reason text, needs_human boolean,
  cancel_reason text, created_by uuid, created_at bigint, updated_at bigint, started_at bigint, completed_at bigint)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
BEGIN
  PERFORM public.tasklog_sign_in(presented_hash);
  SET LOCAL transaction_read_only = on;
  SET LOCAL ROLE tasklog_query;
  RETURN QUERY
  SELECT t.id, t.project_id, t.title, t.description, t.type, t.priority, t.status, t.version,
         t.lease_agent, (extract(epoch FROM t.lease_acquired_at) * 1000000)::bigint,
         (extract(epoch FROM t.lease_expires_at) * 1000000)::bigint, t.lease_attempt, t.attempts,
         (extract(epoch FROM t.next_retry_at) * 1000000)::bigint, t.acceptance_criteria, t.constraints,
         t.parent_task_id, t.timebox_seconds,
         array_to_json(ARRAY(SELECT d.depends_on FROM readmodel.task_dependencies d
                              WHERE d.task_id = t.id ORDER BY d.ordinal)),
         t.git, t.usage_tokens, t.usage_cost_usd, t.gate_results,
         (extract(epoch FROM t.gates_evaluated_at) * 1000000)::bigint, t.last_scope_check, t.artifact_refs,
         t.message_count, t.completion_summary, t.result_artifact_ids, t.failure_reason, t.block_reason,
         t.needs_human, t.cancel_reason, t.created_by,
         (extract(epoch FROM t.created_at) * 1000000)::bigint, (extract(epoch FROM t.updated_at) * 1000000)::bigint,
         (extract(epoch FROM t.started_at) * 1000000)::bigint, (extract(epoch FROM t.completed_at) * 1000000)::bigint
    FROM readmodel.tasks t
   WHERE t.id = wanted_task;
END
$$;

REVOKE ALL ON FUNCTION public.tasklog_read_task(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.tasklog_read_task(text, uuid) TO tasklog_app;
