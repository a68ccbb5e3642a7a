// libFuzzer target: JSON-RPC over /mcp, as an MCP client of either protocol era sends it.
//
// Input: a first line that chooses the era, then the POST body.
//   "2025-03-26", "2025-06-18", "2025-11-25": a classic session of that version, opened with
//       initialize at start-up (Mcp-Session-Id and MCP-Protocol-Version headers);
//   "2026-07-28": the stateless era, with Mcp-Method and Mcp-Name mirrored from the body when it is
//       a JSON object (so that requests get past the header check to the method table);
//   "-": no version header and no session (initialize, server/discover, a missing session);
//   anything else: sent verbatim as MCP-Protocol-Version (an unsupported version).
//   A second word "sse" asks for text/event-stream only.
// The request is answered by the server's own handling (tests/fuzz/fuzz_world.hpp): the router
// authenticates alice, /mcp parses and dispatches, and tools/call and resources/* reach the /v1
// routes and the real database in-process, as in production.
//
// Invariants: no crash, leak or undefined behaviour; a well-formed HTTP response; 202 with no body
// for notifications only; otherwise JSON-RPC 2.0 responses (an array for a batch; SSE events when
// only SSE was accepted) with the documented error codes and never -32603 internal error; a
// request's response carries its id; a tool's isError result carries the REST error envelope.
#include "api/mcp_protocol.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "tests/fuzz/fuzz_checks.hpp"
#include "tests/fuzz/fuzz_world.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace tasklog;
namespace http = api::http;

constexpr std::string_view kModern = "2026-07-28";

std::map<std::string, std::string, std::less<>>& sessions() {
  static std::map<std::string, std::string, std::less<>> by_version;
  return by_version;
}

api::Request mcp_request(std::string body, bool sse) {
  api::Request request{http::verb::post, "/mcp", 11};
  request.set(http::field::authorization, fmt::format("Bearer {}", fuzz::kAliceToken));
  request.set(http::field::content_type, "application/json");
  request.set(http::field::accept, sse ? "text/event-stream" : "application/json, text/event-stream");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

std::string_view string_at(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return {};
  const auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

// The headers of the 2026-07-28 era that repeat the body, as a conforming client sets them.
void mirror_headers(api::Request& request) {
  rapidjson::Document doc;
  doc.Parse(request.body().data(), request.body().size());
  if (doc.HasParseError() || !doc.IsObject()) return;
  const auto method = string_at(doc, "method");
  request.set("Mcp-Method", std::string(method));
  const auto params = doc.FindMember("params");
  if (params == doc.MemberEnd()) return;
  if (method == "tools/call") request.set("Mcp-Name", std::string(string_at(params->value, "name")));
  if (method == "resources/read") request.set("Mcp-Name", std::string(string_at(params->value, "uri")));
}

// One JSON-RPC response, and what it says about the request it answers.
void check_message(const rapidjson::Value& message, const std::string& context) {
  fuzz::check_jsonrpc_response(message, context);
  if (!message.HasMember("result")) return;
  const auto& result = message["result"];
  const auto is_error = result.FindMember("isError");
  if (is_error == result.MemberEnd() || !is_error->value.IsBool() || !is_error->value.GetBool()) return;
  const auto structured = result.FindMember("structuredContent");
  std::string_view code;
  if (structured == result.MemberEnd() || !fuzz::is_error_envelope(structured->value, &code))
    fuzz::fail("a tool error without the REST error envelope", context);
  if (code == "internal") fuzz::fail("a tool call ended in an internal error", context);
}

// The id of a single request, as JSON text; empty when it has none the response could echo. Read
// with the server's own rules (core/json.hpp: UTF-8, limits): what it refuses has no id for it.
std::string request_id(const std::string& body) {
  rapidjson::Document doc;
  try {
    parse_json(body, doc);
  } catch (const DomainError&) {
    return {};
  }
  if (!doc.IsObject() || !doc.HasMember("id")) return {};
  const auto& id = doc["id"];
  if (!id.IsString() && !id.IsNumber()) return {};  // any JSON number is an id (MCP's RequestId)
  return to_json(id);
}

std::vector<std::string> sse_data(const std::string& body, const std::string& context) {
  std::vector<std::string> data;
  std::string_view rest = body;
  while (!rest.empty()) {
    const auto end = rest.find("\n\n");
    if (end == std::string_view::npos) fuzz::fail("an SSE event without its blank line", context);
    const std::string_view event = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    constexpr std::string_view head = "event: message\ndata: ";
    if (!event.starts_with(head) || event.find('\n', head.size()) != std::string_view::npos)
      fuzz::fail("an SSE event that is not one message line", context);
    data.emplace_back(event.substr(head.size()));
  }
  if (data.empty()) fuzz::fail("an SSE reply without events", context);
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::world();
  for (const auto version : api::mcp::classic_versions()) {
    const auto body = fmt::format(
        R"({{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{}","capabilities":{{}},"clientInfo":{{"name":"fuzz","version":"1"}}}}}})",
        version);
    const auto response = fuzz::answer(mcp_request(body, false));
    const auto session = response["Mcp-Session-Id"];
    if (response.result_int() != 200 || session.empty()) fuzz::fail("initialize failed", response.body());
    sessions().emplace(std::string(version), std::string(session));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  std::string_view mode = input.substr(0, newline);
  std::string body(newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1));
  bool sse = false;
  if (const auto space = mode.find(' '); space != std::string_view::npos) {
    sse = mode.substr(space + 1) == "sse";
    mode = mode.substr(0, space);
  }
  // Header values cannot hold line breaks or NUL; a client could not send them either.
  if (mode.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) return 0;

  api::Request request = mcp_request(body, sse);
  if (const auto session = sessions().find(mode); session != sessions().end()) {
    request.set("Mcp-Session-Id", session->second);
    request.set("MCP-Protocol-Version", std::string(mode));
  } else if (mode == kModern) {
    request.set("MCP-Protocol-Version", std::string(mode));
    mirror_headers(request);
  } else if (mode != "-") {
    request.set("MCP-Protocol-Version", std::string(mode));
  }

  const auto response = fuzz::answer(request);
  std::ostringstream wire;
  wire << request;
  const std::string context = fmt::format("{}\n--- response:\n{}", wire.str(), fuzz::to_text(response));
  fuzz::check_http_response(response, wire.str());

  const unsigned status = response.result_int();
  if (status == 202) {
    if (!response.body().empty()) fuzz::fail("202 with a body", context);
    return 0;
  }
  std::vector<std::string> texts;
  if (response[http::field::content_type] == "text/event-stream") {
    if (!sse || status != 200) fuzz::fail("SSE the client did not ask for", context);
    texts = sse_data(response.body(), context);
  } else {
    texts.push_back(response.body());
  }
  const std::string id = request_id(body);
  for (const auto& text : texts) {
    // Read as the server reads the request (parse_json: numbers rounded correctly), so that the
    // ids compare as numbers: an id beyond 64 bits is echoed as the double it reads as, and
    // RapidJSON's own conversion may round that text one unit off.
    rapidjson::Document doc;
    try {
      parse_json(text, doc);
    } catch (const DomainError&) {
      fuzz::fail("a reply that is not JSON", context);
    }
    if (doc.IsArray()) {
      if (doc.Empty()) fuzz::fail("an empty batch reply", context);
      for (const auto& message : doc.GetArray()) check_message(message, context);
      continue;
    }
    check_message(doc, context);
    if (!id.empty() && to_json(doc["id"]) != id) fuzz::fail("the response's id is not the request's", context);
  }
  return 0;
}
