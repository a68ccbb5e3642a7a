// The MCP resources: read-only views of what the caller may see, each a /v1 GET
// (api/mcp_rest.hpp), so visibility is the REST layer's: another user's project is "not found".
//
//   tasklog://projects                   -> GET /v1/projects
//   tasklog://project/{id}               -> GET /v1/projects/{id}
//   tasklog://project/{id}/tasks         -> GET /v1/projects/{id}/tasks
//   tasklog://project/{id}/timeline      -> GET /v1/projects/{id}/events
//   tasklog://project/{id}/decisions     -> GET /v1/projects/{id}/decisions
//   tasklog://task/{id}                  -> GET /v1/tasks/{id}
//   tasklog://task/{id}/events           -> GET /v1/tasks/{id}/events
//   tasklog://checkpoint/{id}            -> GET /v1/checkpoints/{id}
//
// A query on the URI (e.g. ?after=120&limit=50) is passed on, so lists page as they do in REST.
//
// Thread-safety: free functions, callable from any thread.
#pragma once

#include "api/router.hpp"

#include <rapidjson/document.h>

namespace tasklog::api::mcp {

// {"resources":[tasklog://projects, then one per visible project (paged by params.cursor)]}.
rapidjson::Document list_resources(const Router& router, const RequestContext& ctx, const rapidjson::Value& params);
// {"resourceTemplates":[...]}.
rapidjson::Document list_resource_templates();
// {"contents":[{"uri","mimeType":"application/json","text"}]}. RpcError -32002 when the resource is
// unknown or invisible, -32602 for a URI that names no resource.
rapidjson::Document read_resource(const Router& router, const RequestContext& ctx, const rapidjson::Value& params);

}  // namespace tasklog::api::mcp
