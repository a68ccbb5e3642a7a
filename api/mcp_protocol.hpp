// MCP's JSON-RPC vocabulary: the protocol versions /mcp speaks, the JSON-RPC error codes, the one
// error type the MCP code throws, and the message builders. The transport (api/mcp_endpoint.cpp)
// turns an RpcError into a JSON-RPC error response; nothing here knows about HTTP routing.
#pragma once

#include "api/http_types.hpp"

#include <rapidjson/document.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tasklog::api::mcp {

// The stateless era: no initialize, no session; the version travels on every request.
inline constexpr std::string_view kModernVersion = "2026-07-28";

// The classic (initialize + Mcp-Session-Id) versions, oldest first.
const std::vector<std::string_view>& classic_versions();
bool is_classic_version(std::string_view version);
// What initialize answers: the client's version when we speak it, else the newest classic one.
std::string_view negotiate_version(std::string_view requested);
// JSON-RPC batches exist in 2025-03-26 only; 2025-06-18 removed them.
bool allows_batches(std::string_view version);

namespace rpc {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int session_not_found = -32001;  // the TypeScript SDK's code for an unknown session
inline constexpr int resource_not_found = -32002;  // MCP: resources/read of an unknown URI
inline constexpr int header_mismatch = -32020;     // 2026-07-28: headers missing or disagreeing with the body
inline constexpr int unsupported_protocol_version = -32022;  // 2026-07-28
}  // namespace rpc

// A JSON-RPC error and the HTTP status of the response that carries it: 200 for an error about
// one request's content, 400/404 where Streamable HTTP asks for a transport-level status.
// data_json, when not empty, is the JSON text of the error's "data".
class RpcError : public std::runtime_error {
 public:
  RpcError(int code, std::string message, http::status status = http::status::ok, std::string data_json = {})
      : std::runtime_error(std::move(message)), code_(code), status_(status), data_json_(std::move(data_json)) {}
  int code() const noexcept { return code_; }
  http::status status() const noexcept { return status_; }
  const std::string& data_json() const noexcept { return data_json_; }

 private:
  int code_;
  http::status status_;
  std::string data_json_;
};

// {"jsonrpc":"2.0","id":<id_json>,"result":<result>}; id_json is JSON text ("null" when unknown).
std::string result_message(std::string_view id_json, const rapidjson::Value& result);
// {"jsonrpc":"2.0","id":<id_json>,"error":{"code","message"[,"data"]}}.
std::string error_message(std::string_view id_json, const RpcError& error);

// A string member of an object, or nullptr when absent or not a string.
const rapidjson::Value* string_member(const rapidjson::Value& object, const char* key);
std::string_view as_view(const rapidjson::Value& string_value);

}  // namespace tasklog::api::mcp
