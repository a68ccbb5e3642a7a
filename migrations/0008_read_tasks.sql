-- GET /v1/tasks/{id} for many requests in one call: SELECT * FROM public.tasklog_read_tasks($1, $2)
-- with the ids of every request that came in with the same token while the previous call ran
-- (api/task_reads.hpp gathers them). 0007 read one task per call; pgbench put that function at
-- 10,300-12,300 calls/s on this machine against ~60,000 point selects, and most of its cost is per
-- call, not per row: the PL/pgSQL call with RETURN QUERY about half, the role switch and the
-- row-level-security setup about another third. Sharing them among the requests waiting at that
-- moment leaves the per-row work.
--
-- Same rules as 0007's function, which this one supersedes: an unknown, revoked or expired token
-- raises TL401 (tasklog_sign_in) before anything is read; the rows are read as tasklog_query with
-- tasklog.user_id set, so row-level security hides the tasks of projects the caller is not a
-- member of (no row: the same 404 as an unknown id); read only; the SETs are LOCAL, so call it
-- only as a statement of its own (autocommit). One token per call: the rows a call returns are
-- what that one user may see. Rows come in no particular order and an id asked twice is one row;
-- the caller matches them by id.
--
-- The columns are api/task_json.hpp kTaskColumns, in its order (the same as 0007's; a migration
-- cannot amend a function's signature, so the body is restated here with only its WHERE changed).
CREATE OR REPLACE FUNCTION public.tasklog_read_tasks(presented_hash text, wanted_tasks uuid[])
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
   WHERE t.id = ANY (wanted_tasks);
END
$$;

REVOKE ALL ON FUNCTION public.tasklog_read_tasks(text, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.tasklog_read_tasks(text, uuid[]) TO tasklog_app;

-- 0007's tasklog_read_task stays: a server of the previous version still running on this database
-- (several `tasklog serve` processes may share one) keeps calling it until it is replaced.
