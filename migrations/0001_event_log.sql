-- The append-only event log: the single source of truth. Every other table is derived from it.

-- The role the application runs as (SET ROLE after connecting). It may read and append events,
-- never change or remove them. Roles are cluster-wide, so creating it tolerates a concurrent
-- creator in another database of the same cluster.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tasklog_app') THEN
    CREATE ROLE tasklog_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
  NULL;
END $$;

-- A non-superuser owner must be a member to SET ROLE; a superuser already may.
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT tasklog_app TO %I', current_user);
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'could not grant tasklog_app to %: grant it by hand', current_user;
END $$;

CREATE TABLE events (
  position       bigint      PRIMARY KEY CHECK (position >= 1),  -- gapless, equal to commit order
  event_id       uuid        NOT NULL UNIQUE,                     -- idempotency of appends
  stream_id      uuid        NOT NULL,
  stream_type    text        NOT NULL,
  version        integer     NOT NULL CHECK (version >= 1),
  project_id     uuid        NOT NULL,
  task_id        uuid,
  actor_id       uuid        NOT NULL,
  type           text        NOT NULL,
  schema_version smallint    NOT NULL,
  payload        jsonb       NOT NULL,
  metadata       jsonb       NOT NULL,
  recorded_at    timestamptz NOT NULL,
  prev_hash      bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
  hash           bytea       NOT NULL CHECK (octet_length(hash) = 32),
  UNIQUE (stream_id, version)
);

-- Timelines by project and by task, replay by type, time travel by timestamp.
CREATE INDEX events_project_position ON events (project_id, position);
CREATE INDEX events_task_position ON events (task_id, position) WHERE task_id IS NOT NULL;
CREATE INDEX events_type_position ON events (type, position);
CREATE INDEX events_recorded_at ON events (recorded_at);

-- Immutability for every role, the owner included: only a superuser who disables the triggers
-- can change a row, and the hash chain exposes that to `tasklog verify`.
CREATE FUNCTION events_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the event log is append-only: % on events is refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_reject_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();

REVOKE ALL ON events FROM PUBLIC;
GRANT SELECT, INSERT ON events TO tasklog_app;
