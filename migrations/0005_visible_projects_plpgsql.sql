-- The row-level security policies call public.tasklog_visible_project_ids() once per query for
-- every read-model table the query touches. As a LANGUAGE sql function (0003) that is not inlined
-- (SECURITY DEFINER forbids it), PostgreSQL 15 parses and plans its body again on every call: the
-- profile of the HTTP read path showed 15 % of the database's CPU in fmgr_sql alone. PL/pgSQL keeps
-- the plan of its SELECT for the life of the session, so each call is one cached index scan.
--
-- Same signature, rights and body; the table name is still resolved at plan time (a rebuild that
-- swaps the read model schema invalidates the cached plan, and PostgreSQL plans it again by name).
CREATE OR REPLACE FUNCTION public.tasklog_visible_project_ids() RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN (SELECT coalesce(array_agg(m.project_id), '{}')
            FROM readmodel.project_members m
           WHERE m.user_id = nullif(current_setting('tasklog.user_id', true), '')::uuid);
END
$$;
