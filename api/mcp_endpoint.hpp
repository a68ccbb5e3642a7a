// The MCP endpoint, /mcp: Streamable HTTP carrying JSON-RPC 2.0, in both protocol eras
// (docs/mcp.md). POST takes one message or, in 2025-03-26 sessions, a batch; DELETE ends a
// classic session; GET has no route, so the router answers 405 (no server-initiated stream).
// Authentication is the router's, exactly as for /v1 (401 with WWW-Authenticate).
#pragma once

#include "api/router.hpp"

namespace tasklog::api {

// Registers POST and DELETE /mcp. The handlers keep a reference to `router` for their in-process
// /v1 calls, so the router must outlive them (ApiServer owns both).
void add_mcp_routes(Router& router);

}  // namespace tasklog::api
