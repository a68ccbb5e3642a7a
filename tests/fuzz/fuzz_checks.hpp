// The invariants the fuzz targets assert on what the server answers. A violation prints what was
// wrong, the request and the response, and aborts: libFuzzer then saves the input as a crash.
#pragma once

#include "api/http_types.hpp"

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace tasklog::fuzz {

[[noreturn]] void fail(std::string_view what, std::string_view context = {});

// The response as it goes on the wire.
std::string to_text(const api::Response& response);

// The response survives a round trip through Beast's serializer and response parser unchanged; a
// status of 400 or more carries Content-Type application/json and the REST error envelope
// {"error":{"code": a stable code, "message", "details": {...}}} — or, for /mcp, a JSON-RPC
// error response; 500 internal (a bug, by its own definition) is a violation. A JSON body of a
// success is JSON. The answer to HEAD has no content. `request` is for the report only.
void check_http_response(const api::Response& response, std::string_view request,
                         api::http::verb method = api::http::verb::get);

// The REST error envelope; `code` receives the error code.
bool is_error_envelope(const rapidjson::Value& body, std::string_view* code = nullptr);

// A JSON-RPC 2.0 response: "jsonrpc":"2.0", an id (string, integer or null), exactly one of
// result and error; an error has an integer code of the set /mcp documents (-32603 internal error
// is a violation) and a string message. Aborts on a violation.
void check_jsonrpc_response(const rapidjson::Value& message, std::string_view context);

}  // namespace tasklog::fuzz
