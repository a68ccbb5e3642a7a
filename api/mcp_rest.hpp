// How MCP reaches the domain: every tool call and resource read is one in-process request to the
// /v1 route that does the same thing, dispatched through the same Router with the caller's own
// Authorization header. So MCP shares the REST layer's code paths exactly — authentication,
// access checks under row-level security, command parsing and schema validation, run_command,
// the JSON builders, Idempotency-Key — and its answers carry the same bodies and stable codes.
//
// Thread-safety: call from any worker thread (Router::dispatch is).
#pragma once

#include "api/router.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tasklog::api::mcp {

struct RestReply {
  unsigned status = 0;
  std::string body{};  // JSON text; empty for 204
  bool ok() const { return status >= 200 && status < 300; }
};

struct RestCall {
  http::verb method = http::verb::get;
  std::string target{};  // path and query, already percent-encoded
  std::string body{};    // JSON text, sent as application/json when not empty
  std::vector<std::pair<std::string, std::string>> headers{};  // e.g. Idempotency-Key, If-Match
};

// Runs `call` as the caller of `ctx` (its Authorization header is passed on unchanged).
RestReply call_rest(const Router& router, const RequestContext& ctx, const RestCall& call);

// RFC 3986 percent-encoding of everything but unreserved characters: for a path segment or a
// query value built from a client's argument.
std::string percent_encode(std::string_view text);

}  // namespace tasklog::api::mcp
