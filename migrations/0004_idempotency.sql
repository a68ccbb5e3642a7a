-- Idempotency keys of HTTP POSTs (api/idempotency.cpp): the first response to a (user, key),
-- replayed to a retry of the same request. Credentials-adjacent request bookkeeping, not task
-- state, so it lives in schema `auth` beside the users, outside the event log. Only the server's
-- own (owner) connections read and write it; the request role tasklog_query never sees it.

CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.idempotency_keys (
  user_id       uuid        NOT NULL,
  key           text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  method        text        NOT NULL,
  target        text        NOT NULL,
  request_hash  text        NOT NULL,   -- hex SHA-256 of method, target and body
  status        integer     NOT NULL,
  response_body text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
-- For sweeping keys past their 24 hours.
CREATE INDEX idempotency_keys_created_at ON auth.idempotency_keys (created_at);

REVOKE ALL ON auth.idempotency_keys FROM PUBLIC;
