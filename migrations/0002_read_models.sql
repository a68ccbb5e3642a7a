-- The read models: tables the projectors derive from the event log, in a schema of their own.
-- tasklog_create_read_models(schema) builds them in any existing schema, so that a rebuild can
-- fill a shadow schema and swap it in by renaming. Every name is qualified with the schema
-- (never search_path), and nothing references `events` by foreign key: the read models can be
-- dropped and rebuilt from the log at any time.
--
-- Times are timestamptz (microseconds, like the domain's Timestamp). Composite parts of a task
-- that queries do not filter on are jsonb in the codec's JSON form (core/codec.hpp).

CREATE FUNCTION tasklog_create_read_models(schema_name text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format($ddl$
    CREATE TABLE %1$I.projects (
      id          uuid        PRIMARY KEY,
      name        text        NOT NULL,
      description text        NOT NULL,
      rules       jsonb       NOT NULL,
      archived    boolean     NOT NULL,
      version     bigint      NOT NULL,
      created_by  uuid        NOT NULL,
      created_at  timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL,
      archived_at timestamptz
    );

    -- ordinal keeps the order of first addition (ProjectState::members).
    CREATE TABLE %1$I.project_members (
      project_id uuid        NOT NULL,
      user_id    uuid        NOT NULL,
      role       text        NOT NULL CHECK (role IN ('owner', 'member', 'viewer')),
      added_at   timestamptz NOT NULL,
      ordinal    integer     NOT NULL,
      PRIMARY KEY (project_id, user_id)
    );
    -- Access checks go from a user to the projects they may see.
    CREATE INDEX ON %1$I.project_members (user_id);

    CREATE TABLE %1$I.tasks (
      id                  uuid        PRIMARY KEY,
      project_id          uuid        NOT NULL,
      title               text        NOT NULL,
      description         text        NOT NULL,
      type                text        NOT NULL,
      priority            text        NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
      -- Sortable urgency for the ready queue, derived so it can never disagree with priority.
      priority_rank       smallint    GENERATED ALWAYS AS (
                            CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 ELSE 3 END) STORED,
      status              text        NOT NULL
                            CHECK (status IN ('todo', 'in_progress', 'blocked', 'done', 'failed', 'cancelled')),
      version             bigint      NOT NULL,
      lease_token         uuid,
      lease_agent         text,
      lease_acquired_at   timestamptz,
      lease_expires_at    timestamptz,
      lease_attempt       bigint,
      attempts            bigint      NOT NULL,
      next_retry_at       timestamptz,
      acceptance_criteria jsonb       NOT NULL,  -- [{text, met, evidence, met_at?}]
      constraints         jsonb       NOT NULL,  -- [text]
      parent_task_id      uuid,
      timebox_seconds     bigint,
      git                 jsonb       NOT NULL,  -- {branch?, target_branch?, pr_number?, pr_url?, commit_hash?}
      usage_tokens        bigint      NOT NULL,
      usage_cost_usd      double precision NOT NULL,
      gate_results        jsonb       NOT NULL,  -- [{gate, kind, passed, detail}] of the last evaluation
      gates_evaluated_at  timestamptz,
      last_scope_check    jsonb,                 -- {in_scope, violations, files_checked, checked_at}
      artifact_refs       jsonb       NOT NULL,  -- [{id, type}] in order of appending
      message_count       bigint      NOT NULL,
      completion_summary  text        NOT NULL,
      result_artifact_ids jsonb       NOT NULL,  -- [uuid]
      failure_reason      text,
      block_reason        text,
      needs_human         boolean     NOT NULL,
      cancel_reason       text,
      created_by          uuid        NOT NULL,
      created_at          timestamptz NOT NULL,
      updated_at          timestamptz NOT NULL,
      started_at          timestamptz,
      completed_at        timestamptz,
      -- A lease is all or nothing.
      CHECK ((lease_token IS NULL) = (lease_expires_at IS NULL))
    );
    -- The board (a project's tasks by status) and the ready queue: todo tasks in pick_next_task's
    -- orders (priority; oldest/newest), ties by id, so a pick reads a few index entries, not the queue.
    CREATE INDEX ON %1$I.tasks (project_id, status);
    CREATE INDEX ON %1$I.tasks (project_id, priority_rank DESC, created_at, id) WHERE status = 'todo';
    CREATE INDEX ON %1$I.tasks (project_id, created_at, id) WHERE status = 'todo';
    -- The reaper's scan for leases past their time.
    CREATE INDEX ON %1$I.tasks (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
    CREATE INDEX ON %1$I.tasks (parent_task_id) WHERE parent_task_id IS NOT NULL;

    -- ordinal keeps the order of TaskState::dependencies (and the key holds whatever list the
    -- log folds to, so a rebuild never depends on the deciders' duplicate check).
    CREATE TABLE %1$I.task_dependencies (
      task_id    uuid    NOT NULL,
      depends_on uuid    NOT NULL,
      project_id uuid    NOT NULL,
      ordinal    integer NOT NULL,
      PRIMARY KEY (task_id, ordinal)
    );
    -- Both directions: what a task waits on (the key) and what waits on a task.
    CREATE INDEX ON %1$I.task_dependencies (depends_on);
    CREATE INDEX ON %1$I.task_dependencies (project_id);

    CREATE TABLE %1$I.artifacts (
      id            uuid        PRIMARY KEY,
      project_id    uuid        NOT NULL,
      task_id       uuid        NOT NULL,
      type          text        NOT NULL CHECK (type IN ('diff', 'pr', 'test_report', 'document', 'other')),
      ref           text        NOT NULL,
      summary       text        NOT NULL,
      content       text,
      content_bytes bigint      NOT NULL,
      created_by    uuid        NOT NULL,
      created_at    timestamptz NOT NULL,
      position      bigint      NOT NULL
    );
    CREATE INDEX ON %1$I.artifacts (task_id, position);
    CREATE INDEX ON %1$I.artifacts (project_id, position);

    CREATE TABLE %1$I.checkpoints (
      id                  uuid        PRIMARY KEY,
      project_id          uuid        NOT NULL,
      task_id             uuid,
      label               text        NOT NULL,
      summary             text        NOT NULL,
      repo_ref            text        NOT NULL,
      resume_instructions text        NOT NULL,
      log_position        bigint      NOT NULL,
      tasks               jsonb       NOT NULL,  -- [{task_id, status}] at log_position
      created_by          uuid        NOT NULL,
      created_at          timestamptz NOT NULL,
      position            bigint      NOT NULL
    );
    -- "The latest checkpoint" of a project.
    CREATE INDEX ON %1$I.checkpoints (project_id, position DESC);

    CREATE TABLE %1$I.decisions (
      id            uuid        PRIMARY KEY,
      project_id    uuid        NOT NULL,
      task_id       uuid,
      title         text        NOT NULL,
      options       jsonb       NOT NULL,  -- [text]
      choice        text        NOT NULL,
      rationale     text        NOT NULL,
      supersedes    uuid,
      superseded_by uuid,
      superseded_at timestamptz,
      created_by    uuid        NOT NULL,
      created_at    timestamptz NOT NULL,
      position      bigint      NOT NULL
    );
    -- "Recent decisions" of a project.
    CREATE INDEX ON %1$I.decisions (project_id, position DESC);

    CREATE TABLE %1$I.task_messages (
      id         uuid        PRIMARY KEY,
      project_id uuid        NOT NULL,
      task_id    uuid        NOT NULL,
      role       text        NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
      content    text        NOT NULL,
      created_by uuid        NOT NULL,
      created_at timestamptz NOT NULL,
      position   bigint      NOT NULL
    );
    CREATE INDEX ON %1$I.task_messages (task_id, position);
    CREATE INDEX ON %1$I.task_messages (project_id, position);

    -- Work that is not finished: waiting, held or blocked. lease_live says whether a holder is
    -- still within its lease (an in_progress task whose lease ran out waits for the reaper).
    CREATE VIEW %1$I.active_tasks AS
      SELECT t.*, (t.lease_expires_at IS NOT NULL AND t.lease_expires_at > now()) AS lease_live
        FROM %1$I.tasks t
       WHERE t.status IN ('todo', 'in_progress', 'blocked');

    -- What pick_next_task may claim now (core/chooser.hpp is_ready): todo, every dependency done
    -- (an unknown dependency is never done), retry time passed, no live lease.
    CREATE VIEW %1$I.ready_tasks AS
      SELECT t.*
        FROM %1$I.tasks t
       WHERE t.status = 'todo'
         AND (t.next_retry_at IS NULL OR t.next_retry_at <= now())
         AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= now())
         AND NOT EXISTS (
               SELECT 1
                 FROM %1$I.task_dependencies d
                 LEFT JOIN %1$I.tasks dep ON dep.id = d.depends_on
                WHERE d.task_id = t.id
                  AND dep.status IS DISTINCT FROM 'done');

    CREATE VIEW %1$I.task_progress AS
      SELECT t.id AS task_id,
             t.project_id,
             t.status,
             jsonb_array_length(t.acceptance_criteria) AS criteria_total,
             (SELECT count(*) FROM jsonb_array_elements(t.acceptance_criteria) c
               WHERE (c ->> 'met')::boolean) AS criteria_met,
             jsonb_array_length(t.artifact_refs) AS artifact_count
        FROM %1$I.tasks t;

    -- The log newest first, for timelines: callers filter (project, task) and LIMIT, which the
    -- planner serves backwards from the events indexes without reading older rows.
    CREATE VIEW %1$I.recent_events AS
      SELECT e.position, e.event_id, e.stream_id, e.stream_type, e.version, e.project_id, e.task_id,
             e.actor_id, e.type, e.payload, e.metadata, e.recorded_at
        FROM public.events e
       ORDER BY e.position DESC;

    GRANT USAGE ON SCHEMA %1$I TO tasklog_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %1$I TO tasklog_app;
  $ddl$, schema_name);
END
$fn$;

CREATE SCHEMA readmodel;
SELECT tasklog_create_read_models('readmodel');
