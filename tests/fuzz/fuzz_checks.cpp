// Invariants on the server's answers (see the header).
#include "tests/fuzz/fuzz_checks.hpp"

#include "core/error.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace tasklog::fuzz {
namespace {

namespace http = boost::beast::http;

std::string_view view(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// A code of core/error.hpp other than internal.
bool is_stable_code(std::string_view code) {
  for (int i = 0; i < static_cast<int>(ErrorCode::internal); ++i)
    if (code_name(static_cast<ErrorCode>(i)) == code) return true;
  return false;
}

bool is_jsonrpc_error(const rapidjson::Value& body) {
  return body.IsObject() && body.HasMember("jsonrpc") && body.HasMember("error");
}

}  // namespace

void fail(std::string_view what, std::string_view context) {
  std::fprintf(stderr, "\n=== fuzz invariant violated: %.*s\n%.*s\n===\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(context.size()), context.data());
  std::abort();
}

std::string to_text(const api::Response& response) {
  std::ostringstream wire;
  wire << response;
  return wire.str();
}

bool is_error_envelope(const rapidjson::Value& body, std::string_view* code) {
  if (!body.IsObject() || body.MemberCount() != 1 || !body.HasMember("error")) return false;
  const auto& error = body["error"];
  if (!error.IsObject() || !error.HasMember("code") || !error["code"].IsString() || !error.HasMember("message") ||
      !error["message"].IsString() || !error.HasMember("details") || !error["details"].IsObject()) {
    return false;
  }
  if (code) *code = view(error["code"]);
  return true;
}

void check_http_response(const api::Response& response, std::string_view request, http::verb method) {
  const std::string text = to_text(response);
  const std::string context = std::string(request) + "\n--- response:\n" + text;

  // What a client reads back: the same status, the same body, nothing left over.
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  // A client that sent HEAD reads no content whatever Content-Length says.
  parser.skip(method == http::verb::head);
  parser.body_limit(boost::none);
  boost::beast::error_code ec;
  const auto used = parser.put(boost::asio::buffer(text), ec);
  if (ec || !parser.is_done()) fail("the response does not parse as HTTP: " + ec.message(), context);
  if (used != text.size()) fail("bytes after the response's end", context);
  const auto& parsed = parser.get();
  if (parsed.result_int() != response.result_int() || parsed.body() != response.body())
    fail("the response reads back differently", context);
  if (method == http::verb::head) return;

  const unsigned status = response.result_int();
  if (status == 500) fail("500 internal error", context);
  const auto content_type = response[http::field::content_type];
  const bool json = content_type.starts_with("application/json");
  if (status < 400 && !json) return;
  if (!json) fail("an error response that is not application/json", context);

  rapidjson::Document body;
  body.Parse(response.body().data(), response.body().size());
  if (body.HasParseError()) fail("a JSON response whose body is not JSON", context);
  if (status < 400) return;
  std::string_view code;
  if (is_error_envelope(body, &code)) {
    if (!is_stable_code(code)) fail("an error code that is not one of core/error.hpp's", context);
    return;
  }
  // /mcp answers transport errors (parse error, unknown session, header mismatch) in JSON-RPC.
  if (is_jsonrpc_error(body)) return check_jsonrpc_response(body, context);
  fail("an error response without the error envelope", context);
}

void check_jsonrpc_response(const rapidjson::Value& message, std::string_view context) {
  if (!message.IsObject()) fail("a JSON-RPC response that is not an object", context);
  if (!message.HasMember("jsonrpc") || !message["jsonrpc"].IsString() || view(message["jsonrpc"]) != "2.0")
    fail("a JSON-RPC response without \"jsonrpc\":\"2.0\"", context);
  if (!message.HasMember("id")) fail("a JSON-RPC response without an id", context);
  const auto& id = message["id"];
  // MCP's RequestId is a string or any JSON number; null only when no id could be read.
  if (!id.IsString() && !id.IsNumber() && !id.IsNull()) fail("a JSON-RPC id that is neither string, number nor null", context);
  const bool result = message.HasMember("result");
  const bool error = message.HasMember("error");
  if (result == error) fail("a JSON-RPC response needs exactly one of result and error", context);
  if (result) {
    if (!message["result"].IsObject()) fail("a JSON-RPC result that is not an object", context);
    return;
  }
  const auto& e = message["error"];
  if (!e.IsObject() || !e.HasMember("code") || !e["code"].IsInt() || !e.HasMember("message") || !e["message"].IsString())
    fail("a JSON-RPC error without an integer code and a string message", context);
  switch (e["code"].GetInt()) {
    case -32700:  // parse error
    case -32600:  // invalid request
    case -32601:  // method not found
    case -32602:  // invalid params
    case -32001:  // session not found
    case -32002:  // resource not found
    case -32020:  // header mismatch
    case -32022:  // unsupported protocol version
      return;
    case -32603: fail("JSON-RPC internal error", context);
    default: fail("a JSON-RPC error code /mcp does not document", context);
  }
}

}  // namespace tasklog::fuzz
