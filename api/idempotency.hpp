// Idempotency-Key on POST and PATCH: a retried request gets the first response again (status and body)
// and appends nothing; the same key with another request is 422 idempotency_conflict.
//
// Keys are per user and kept 24 hours in auth.idempotency_keys (migrations/0004). A request is
// "the same" when method, target (path and query), body (canonical JSON when it parses, else
// the raw bytes) and If-Match hash alike. Responses with status below 500 are remembered: a refusal is as much
// the answer as a success, while a 5xx is the server's trouble and may be retried.
//
// Two identical requests racing: the check, the handler and the store run inside one transaction
// that holds pg_advisory_xact_lock(<class>, hashtext(user:key)), so the second waits for the first
// and then replays its response. That transaction uses a small pool of its own, so requests that
// hold it and wait for a request connection can never starve the request pool (no lock cycle).
// Crash window: the command commits in the event store's transaction and the key in this one; if
// the process dies between the two commits the key is not stored, and a retry executes again.
//
// Thread-safety: the wrapped handler may run on any number of threads.
#pragma once

#include "api/router.hpp"

namespace tasklog::api {

// A handler that honours the Idempotency-Key header and otherwise calls `handler` unchanged.
Handler with_idempotency(Handler handler);
// The same for an asynchronous route. Without the header the handler stays asynchronous; with it
// the request keeps its thread (blocking()) while it holds the key's lock, from the check until its
// answer is stored.
AsyncHandler with_idempotency(AsyncHandler handler);

}  // namespace tasklog::api
