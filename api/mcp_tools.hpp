// The MCP tools: one per agent action, each a mapping onto the /v1 route that performs it
// (api/mcp_rest.hpp). A command tool's input schema is its command's JSON Schema
// (core/schemas.hpp), path ids included as properties, compacted for the agent's token budget;
// the four read tools have small schemas of their own.
//
// Thread-safety: everything here may be called from any number of threads.
#pragma once

#include "api/router.hpp"

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

namespace tasklog::api::mcp {

// tools/list's result {"tools":[...]} as JSON text, built once.
const std::string& tools_list_json();

// tools/call. RpcError(-32602) for an unknown tool or arguments that are not an object; everything
// the domain or the REST layer refuses (validation, access, lease_lost...) is a result with
// isError: true whose structuredContent is the REST error body {"error":{"code","message","details"}}.
// params._meta.idempotency_key is sent as Idempotency-Key: a retried call appends nothing.
rapidjson::Document call_tool(const Router& router, const RequestContext& ctx, const rapidjson::Value& params);

}  // namespace tasklog::api::mcp
