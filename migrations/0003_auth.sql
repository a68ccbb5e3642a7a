-- Users, bearer tokens, and row-level security on the read models and the event log.
--
-- Users and tokens are credentials, not task state: plain tables in schema `auth`, outside the
-- event log. A token is stored only as the hex SHA-256 of its text (api/auth.cpp).
--
-- Row-level security: request queries run as `tasklog_query` (SET LOCAL ROLE) with the request's
-- user in the transaction-local setting `tasklog.user_id`; every read model row and every event
-- is then visible only when its project is one the user is a member of, whatever the query's
-- WHERE clause says. The engine's role `tasklog_app` sees everything (it decides, appends and
-- projects); the owner of the tables (migrations, rebuild, verify) is not subject to RLS at all.

-- The role of request queries. Roles are cluster-wide: tolerate a concurrent creator in another
-- database of the same cluster (as 0001 does for tasklog_app).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tasklog_query') THEN
    CREATE ROLE tasklog_query NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
  NULL;
END $$;

-- SET ROLE needs the session user to be a member; a superuser already may.
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT tasklog_query TO %I', current_user);
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'could not grant tasklog_query to %: grant it by hand', current_user;
END $$;

-- Users and tokens ---------------------------------------------------------------------------

CREATE SCHEMA auth;

CREATE TABLE auth.users (
  id         uuid        PRIMARY KEY,
  email      text        NOT NULL CHECK (email <> ''),
  name       text        NOT NULL,
  admin      boolean     NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique whatever their case: Alice@x and alice@x are one person.
CREATE UNIQUE INDEX users_email_key ON auth.users (lower(email));

CREATE TABLE auth.api_tokens (
  id         uuid        PRIMARY KEY,
  user_id    uuid        NOT NULL REFERENCES auth.users (id),
  name       text        NOT NULL,
  -- Only the hash: a copy of this table does not let anyone in.
  token_hash text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX ON auth.api_tokens (user_id);

REVOKE ALL ON SCHEMA auth FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA auth FROM PUBLIC;
-- The server may run its authentication as the application role; the query role never reads
-- credentials. Nobody but the owner deletes: revoking keeps the row.
GRANT USAGE ON SCHEMA auth TO tasklog_app;
GRANT SELECT, INSERT, UPDATE ON auth.users, auth.api_tokens TO tasklog_app;

-- Row-level security --------------------------------------------------------------------------

-- The projects the request's user may see. SECURITY DEFINER so that it reads project_members
-- itself without going through that table's own policy (which calls this function). The body is a
-- string, so PostgreSQL records no dependency on readmodel.project_members: a rebuild may drop the
-- old read model schema and rename a new one into place, and the name resolves to the new table.
-- An array rather than a set, so that policies can evaluate it once per query as an InitPlan
-- (`= ANY ((SELECT ...)::uuid[])`; the cast keeps ANY from reading the SELECT as a row source) and
-- still use the project_id indexes.
CREATE FUNCTION public.tasklog_visible_project_ids() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(array_agg(m.project_id), '{}')
    FROM readmodel.project_members m
   WHERE m.user_id = nullif(current_setting('tasklog.user_id', true), '')::uuid
$$;
REVOKE ALL ON FUNCTION public.tasklog_visible_project_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.tasklog_visible_project_ids() TO tasklog_query;

-- Row-level security, policies and grants on the read models of one schema. Every table is
-- scoped by its project (projects by id, the others by project_id); a table that has neither
-- fails here rather than being left open. Views run as the caller (security_invoker), or they
-- would read the tables with their owner's rights, past every policy.
CREATE FUNCTION public.tasklog_secure_read_models(schema_name text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  rel record;
  scope_column text;
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO tasklog_query', schema_name);
  FOR rel IN
    SELECT c.oid, c.relname, c.relkind
      FROM pg_class c
     WHERE c.relnamespace = to_regnamespace(quote_ident(schema_name)) AND c.relkind IN ('r', 'p', 'v', 'm')
     ORDER BY c.relname
  LOOP
    IF rel.relkind = 'v' THEN
      EXECUTE format('ALTER VIEW %I.%I SET (security_invoker = true)', schema_name, rel.relname);
    ELSIF rel.relkind = 'm' THEN
      RAISE EXCEPTION 'materialized view %.% cannot be scoped by row-level security', schema_name, rel.relname;
    ELSE
      IF rel.relname = 'projects' THEN
        scope_column := 'id';
      ELSIF EXISTS (SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = rel.oid AND a.attname = 'project_id' AND NOT a.attisdropped) THEN
        scope_column := 'project_id';
      ELSE
        RAISE EXCEPTION 'read model table %.% has no project_id: row-level security cannot scope it',
          schema_name, rel.relname;
      END IF;
      EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', schema_name, rel.relname);
      -- The engine decides, appends and projects for every project: it sees and writes all rows.
      EXECUTE format('CREATE POLICY tasklog_app_all ON %I.%I TO tasklog_app USING (true) WITH CHECK (true)',
                     schema_name, rel.relname);
      EXECUTE format('CREATE POLICY tasklog_query_visible ON %I.%I FOR SELECT TO tasklog_query '
                     'USING (%I = ANY ((SELECT public.tasklog_visible_project_ids())::uuid[]))',
                     schema_name, rel.relname, scope_column);
    END IF;
    EXECUTE format('GRANT SELECT ON %I.%I TO tasklog_query', schema_name, rel.relname);
  END LOOP;
END
$fn$;

-- 0002's function keeps building the tables and views under a new name; tasklog_create_read_models
-- (what `tasklog rebuild` calls for its shadow schema) now also secures them, so a rebuilt schema
-- swapped in is exactly as closed as the live one it replaces.
ALTER FUNCTION public.tasklog_create_read_models(text) RENAME TO tasklog_create_read_model_tables;

CREATE FUNCTION public.tasklog_create_read_models(schema_name text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM public.tasklog_create_read_model_tables(schema_name);
  PERFORM public.tasklog_secure_read_models(schema_name);
END
$fn$;

SELECT public.tasklog_secure_read_models('readmodel');

-- The event log: the same rule by project. Every event has a project (events.project_id is NOT
-- NULL); one whose project the user is not a member of is invisible.
ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tasklog_app_all ON public.events TO tasklog_app USING (true) WITH CHECK (true);
CREATE POLICY tasklog_query_visible ON public.events FOR SELECT TO tasklog_query
  USING (project_id = ANY ((SELECT public.tasklog_visible_project_ids())::uuid[]));
GRANT SELECT ON public.events TO tasklog_query;
