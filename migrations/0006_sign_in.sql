-- Authentication in the same round trip as the read it guards. A GET of one task cost two round
-- trips: the token lookup (api/auth.cpp authenticate), then the read as that user. With this
-- function the read's message checks the token itself —
--   SET TRANSACTION READ ONLY; SELECT public.tasklog_sign_in('<sha-256 hex>');
--   SET LOCAL ROLE tasklog_query; EXECUTE …
-- one implicit transaction: an unknown, revoked or expired token raises SQLSTATE TL401 before
-- anything is read, and a valid one sets tasklog.user_id for this transaction only, exactly as
-- begin_as_user does. The token is still looked up on every request, so a revocation stops it at
-- once (nothing is cached).
--
-- PL/pgSQL, so the lookup's plan lives for the session. Runs as the caller (the server's role,
-- before SET LOCAL ROLE), which may read auth.api_tokens; nobody else may call it.
CREATE OR REPLACE FUNCTION public.tasklog_sign_in(presented_hash text) RETURNS uuid
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  signed_in uuid;
BEGIN
  SELECT t.user_id INTO signed_in
    FROM auth.api_tokens t
   WHERE t.token_hash = presented_hash
     AND t.revoked_at IS NULL
     AND (t.expires_at IS NULL OR t.expires_at > now());
  IF signed_in IS NULL THEN
    RAISE EXCEPTION 'the bearer token is unknown, revoked or expired' USING ERRCODE = 'TL401';
  END IF;
  PERFORM pg_catalog.set_config('tasklog.user_id', signed_in::text, true);
  RETURN signed_in;
END
$$;

REVOKE ALL ON FUNCTION public.tasklog_sign_in(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.tasklog_sign_in(text) TO tasklog_app;
