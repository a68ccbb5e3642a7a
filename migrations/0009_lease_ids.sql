-- Lease tokens leave the log. Until now a claim's TaskClaimed event (and the later lease events)
-- carried the lease's token, and the log is readable by every member of the project (GET
-- /v1/tasks/{id}/events, the WebSocket stream, export): any member could read a live token and act
-- as the holder, which defeats the fencing the token exists for. From event schema version 2 the
-- events, and the read model, keep only the lease's id: lease_id_of(token) in core/task.hpp, the
-- first 16 bytes of SHA-256 over the token's 16 bytes, as a UUID. The token itself is only in the
-- claim's answer to its agent.
--
-- The log is never rewritten (its hash chain covers every payload): version-1 lease events are read
-- as version 2 by the codec (core/codec.cpp), which applies the same function. The rows written
-- before this migration hold tokens; they get the same function here, so a lease held across the
-- upgrade still answers to its token, and the rows equal what a rebuild from the log writes.
UPDATE readmodel.tasks
   SET lease_token = encode(substring(sha256(uuid_send(lease_token)) FROM 1 FOR 16), 'hex')::uuid
 WHERE lease_token IS NOT NULL;
