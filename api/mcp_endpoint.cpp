// /mcp: transport (Accept negotiation, JSON or SSE replies, 202 for notifications), the two
// protocol eras (classic initialize + Mcp-Session-Id; 2026-07-28 stateless with mirrored
// headers), JSON-RPC framing and batches, and the method table.
#include "api/mcp_endpoint.hpp"

#include "api/mcp_protocol.hpp"
#include "api/mcp_resources.hpp"
#include "api/mcp_sessions.hpp"
#include "api/mcp_tools.hpp"
#include "core/base64.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

namespace tasklog::api {
namespace {

using namespace mcp;

constexpr std::string_view kServerName = "tasklog";
constexpr std::string_view kServerVersion = "0.1.0";
constexpr std::string_view kInstructions =
    "tasklog keeps an agent's tasks in an append-only log. Read get_context first; pick_next_task claims "
    "the next ready task and returns a lease whose token later calls carry; heartbeat_task before it "
    "expires; complete_task once the gates pass. Add _meta.idempotency_key to make a call safe to retry (retry with "
    "the same key; use a new one after a refusal that may pass later).";
constexpr rapidjson::SizeType kMaxBatchMessages = 100;
constexpr const char* kMetaVersion = "io.modelcontextprotocol/protocolVersion";
constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";

enum class ReplyFormat { json, sse };

std::optional<std::string_view> header(const Request& request, std::string_view name) {
  const auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  if (it == request.end()) return std::nullopt;
  return std::string_view(it->value().data(), it->value().size());
}

std::string trimmed_lower(std::string_view text) {
  std::string out(trim_ows(text));
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// An Accept element with q=0 means "not this one" (RFC 9110 12.4.2).
bool accept_refuses(std::string_view element) {
  const std::string text = trimmed_lower(element);
  const auto q = text.find(";q=") != std::string::npos ? text.find(";q=") : text.find("; q=");
  if (q == std::string::npos) return false;
  std::string_view rest = std::string_view(text).substr(text.find('=', q) + 1);
  const std::string value = trimmed_lower(rest.substr(0, rest.find(';')));
  return value.find_first_not_of("0.") == std::string::npos && !value.empty();
}

// JSON whenever the client accepts it (the SDKs list both and read either); SSE only when the
// Accept header leaves no other choice; nullopt when it accepts neither.
std::optional<ReplyFormat> reply_format(const Request& request) {
  const auto accept = header(request, "Accept");
  if (!accept || trimmed_lower(*accept).empty()) return ReplyFormat::json;
  bool json = false, sse = false;
  std::string_view rest = *accept;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const std::string media = trimmed_lower(part.substr(0, part.find(';')));
    if (accept_refuses(part)) continue;
    json = json || media == "application/json" || media == "application/*" || media == "*/*";
    sse = sse || media == "text/event-stream" || media == "text/*";
  }
  if (json) return ReplyFormat::json;
  if (sse) return ReplyFormat::sse;
  return std::nullopt;
}

Response json_reply(http::status status, std::string body) { return json_response(status, std::move(body)); }

// One or more JSON-RPC messages. Errors (non-200) are always plain JSON: a client reads an HTTP
// error's body as a document, not as a stream.
Response reply(ReplyFormat format, http::status status, const std::vector<std::string>& messages, bool batch) {
  if (format == ReplyFormat::json || status != http::status::ok) {
    if (!batch) return json_reply(status, messages.front());
    return json_reply(status, fmt::format("[{}]", fmt::join(messages, ",")));
  }
  Response response{status, 11};
  response.set(http::field::content_type, "text/event-stream");
  response.set(http::field::cache_control, "no-cache");
  std::string body;
  for (const auto& message : messages) body += fmt::format("event: message\ndata: {}\n\n", message);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

std::string id_json(const rapidjson::Value& message) {
  if (!message.IsObject()) return "null";
  const auto it = message.FindMember("id");
  // MCP's RequestId is a string or a number — any JSON number, echoed as it came.
  if (it == message.MemberEnd() || !(it->value.IsString() || it->value.IsNumber())) return "null";
  return to_json(it->value);
}

const rapidjson::Value* params_of(const rapidjson::Value& message) {
  if (!message.IsObject()) return nullptr;
  const auto it = message.FindMember("params");
  return it == message.MemberEnd() ? nullptr : &it->value;
}

const rapidjson::Value* meta_version(const rapidjson::Value& message) {
  const auto* params = params_of(message);
  if (!params || !params->IsObject()) return nullptr;
  const auto meta = params->FindMember("_meta");
  return meta == params->MemberEnd() ? nullptr : string_member(meta->value, kMetaVersion);
}

[[noreturn]] void header_mismatch(std::string message) {
  throw RpcError(rpc::header_mismatch, std::move(message), http::status::bad_request);
}

// What Mcp-Name must say for a method that names something: the tool, prompt or resource.
std::optional<std::string_view> named_target(std::string_view method, const rapidjson::Value& message) {
  const auto* params = params_of(message);
  const char* key = method == "resources/read"                           ? "uri"
                    : method == "tools/call" || method == "prompts/get" ? "name"
                                                                         : nullptr;
  if (!key) return std::nullopt;
  const auto* value = params ? string_member(*params, key) : nullptr;
  return value ? std::optional(as_view(*value)) : std::optional<std::string_view>("");
}

// An Mcp-Name header's value as the client meant it (2026-07-28, "Value Encoding"): a value that is
// not plain ASCII travels as `=?base64?{Base64 of its UTF-8}?=` and is compared decoded; a plain
// value holding anything but visible ASCII and spaces is refused ("A header value contains
// invalid characters").
std::string decoded_name_header(std::string_view value) {
  constexpr std::string_view prefix = "=?base64?", suffix = "?=";
  if (value.size() >= prefix.size() + suffix.size() && value.starts_with(prefix) && value.ends_with(suffix)) {
    auto decoded = decode_base64(value.substr(prefix.size(), value.size() - prefix.size() - suffix.size()));
    if (!decoded) header_mismatch(fmt::format("Mcp-Name '{}' is not valid =?base64?…?= encoding", shown(value)));
    return std::move(*decoded);
  }
  if (!is_printable_ascii(value))
    header_mismatch("Mcp-Name holds characters a header cannot carry plainly: send it as =?base64?…?=");
  return std::string(value);
}

// The headers that mirror the body must agree with it; in the 2026-07-28 era they are required.
void check_mirrored_headers(const Request& request, const rapidjson::Value& message, bool required) {
  const auto* method_value = string_member(message, "method");
  const std::string_view method = method_value ? as_view(*method_value) : std::string_view{};
  const auto mcp_method = header(request, "Mcp-Method");
  if (!mcp_method && required) header_mismatch("the Mcp-Method header is required");
  if (mcp_method && *mcp_method != method)
    header_mismatch(fmt::format("Mcp-Method '{}' does not match the body's method '{}'", shown(*mcp_method), method));
  const auto name = named_target(method, message);
  const auto mcp_name = header(request, "Mcp-Name");
  if (name && !mcp_name && required) header_mismatch(fmt::format("the Mcp-Name header is required for {}", method));
  if (name && mcp_name && decoded_name_header(*mcp_name) != *name)
    header_mismatch(fmt::format("Mcp-Name '{}' does not match the body's '{}'", shown(*mcp_name), shown(*name)));
  if (const auto* version = meta_version(message); version && header(request, "MCP-Protocol-Version") &&
                                                    as_view(*version) != *header(request, "MCP-Protocol-Version"))
    header_mismatch("MCP-Protocol-Version does not match params._meta's protocolVersion");
}

rapidjson::Value text_value(std::string_view text, rapidjson::Document::AllocatorType& a) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a);
}

void add_server_description(rapidjson::Document& result) {
  auto& a = result.GetAllocator();
  rapidjson::Value capabilities(rapidjson::kObjectType);
  rapidjson::Value tools(rapidjson::kObjectType);
  tools.AddMember("listChanged", false, a);
  rapidjson::Value resources(rapidjson::kObjectType);
  resources.AddMember("subscribe", false, a);
  resources.AddMember("listChanged", false, a);
  capabilities.AddMember("tools", tools, a);
  capabilities.AddMember("resources", resources, a);
  rapidjson::Value info(rapidjson::kObjectType);
  info.AddMember("name", text_value(kServerName, a), a);
  info.AddMember("version", text_value(kServerVersion, a), a);
  result.AddMember("capabilities", capabilities, a);
  result.AddMember("serverInfo", info, a);
  result.AddMember("instructions", text_value(kInstructions, a), a);
}

// 2026-07-28 results: every one says resultType "complete" (tasklog never asks for input
// mid-request), and the cacheable ones carry ttlMs and cacheScope. The tool list, the templates
// and discovery are the same for every caller until the server is upgraded: public, an hour. The
// resources are the caller's own and change with every command: private, not to be reused.
void add_modern_fields(std::string_view method, rapidjson::Document& result) {
  auto& a = result.GetAllocator();
  if (!result.HasMember("resultType")) result.AddMember("resultType", "complete", a);
  const bool shared = method == "tools/list" || method == "resources/templates/list" || method == "server/discover";
  const bool per_user = method == "resources/list" || method == "resources/read";
  if ((shared || per_user) && !result.HasMember("ttlMs")) {
    result.AddMember("ttlMs", shared ? 3600000 : 0, a);
    result.AddMember("cacheScope", rapidjson::StringRef(shared ? "public" : "private"), a);
  }
  // The era has no handshake, so every result names its server (a SHOULD of 2026-07-28).
  if (!result.HasMember("_meta")) result.AddMember("_meta", rapidjson::Value(rapidjson::kObjectType), a);
  auto& meta = result["_meta"];
  if (meta.IsObject() && !meta.HasMember(kMetaServerInfo)) {
    rapidjson::Value info(rapidjson::kObjectType);
    info.AddMember("name", rapidjson::StringRef(kServerName.data(), kServerName.size()), a);
    info.AddMember("version", rapidjson::StringRef(kServerVersion.data(), kServerVersion.size()), a);
    meta.AddMember(rapidjson::StringRef(kMetaServerInfo), info, a);
  }
}

class Endpoint {
 public:
  explicit Endpoint(const Router& router) : router_(router) {}

  Response post(RequestContext& ctx);
  Response end_session(RequestContext& ctx);

 private:
  // One POST: its era and what its messages did to the session.
  struct Exchange {
    RequestContext& ctx;
    bool modern = false;
    std::string version{};         // the session's version, or the header's in the 2026-07-28 era
    std::string opened_session{};  // set by initialize
    http::status status = http::status::ok;
  };

  void establish_era(Exchange& ex, const rapidjson::Document& doc);
  std::optional<std::string> answer(Exchange& ex, const rapidjson::Value& message, bool in_batch);
  rapidjson::Document dispatch(Exchange& ex, std::string_view method, const rapidjson::Value& params);

  const Router& router_;
  SessionStore sessions_;
};

// Whether the request's MCP-Protocol-Version header names the 2026-07-28 era (false without the
// header or with a classic version). Any other value is refused with 400, on every method: "If the
// server receives a request with an invalid or unsupported MCP-Protocol-Version, it MUST respond
// with 400 Bad Request" (Streamable HTTP, 2025-06-18 and later).
bool modern_version_header(const Request& request) {
  const auto version_header = header(request, "MCP-Protocol-Version");
  if (!version_header || is_classic_version(*version_header)) return false;
  if (*version_header == kModernVersion) return true;
  rapidjson::Document data(rapidjson::kObjectType);
  auto& a = data.GetAllocator();
  rapidjson::Value supported(rapidjson::kArrayType);
  for (const auto v : classic_versions()) supported.PushBack(text_value(v, a), a);
  supported.PushBack(text_value(kModernVersion, a), a);
  data.AddMember("supported", supported, a);
  data.AddMember("requested", text_value(shown(*version_header), a), a);
  throw RpcError(rpc::unsupported_protocol_version, fmt::format("unsupported MCP-Protocol-Version '{}'", shown(*version_header)),
                 http::status::bad_request, to_json(data));
}

// Streamable HTTP: "Servers MUST validate the Origin header on all incoming connections to prevent
// DNS rebinding attacks … If the Origin header is present and invalid, servers MUST respond with
// HTTP Forbidden (403)". A page may talk to /mcp only from the server's own origin (the host and
// port it was reached at); clients outside browsers send no Origin. A rebinding page's Origin and
// Host agree (both the attacker's name), so this check alone does not stop it: the bearer token
// every /mcp request needs, which such a page cannot read or send, does.
void check_origin(const Request& request) {
  const auto origin = header(request, "Origin");
  if (!origin) return;
  const auto host = header(request, "Host");
  const auto scheme_end = origin->find("://");
  const bool same = host && scheme_end != std::string_view::npos &&
                    trimmed_lower(origin->substr(scheme_end + 3)) == trimmed_lower(*host);
  if (!same)
    throw RpcError(rpc::invalid_request, fmt::format("Origin {} may not call this server's /mcp", shown(*origin)),
                   http::status::forbidden);
}

void Endpoint::establish_era(Exchange& ex, const rapidjson::Document& doc) {
  const Request& request = ex.ctx.request;
  if (modern_version_header(request)) {
    ex.modern = true;
  } else if (header(request, "MCP-Protocol-Version")) {
    // a classic version: the session's version is checked below
  } else if (doc.IsObject() ? meta_version(doc) != nullptr
                             : doc.IsArray() && std::any_of(doc.Begin(), doc.End(), [](const rapidjson::Value& m) {
                                 return m.IsObject() && meta_version(m);
                               })) {
    header_mismatch("the MCP-Protocol-Version header is required with params._meta's protocolVersion");
  }

  if (!doc.IsObject() && !doc.IsArray())
    throw RpcError(rpc::invalid_request, "a JSON-RPC message must be an object", http::status::bad_request);
  if (doc.IsArray() && doc.Empty())
    throw RpcError(rpc::invalid_request, "an empty batch", http::status::bad_request);
  if (ex.modern) {
    if (doc.IsArray())
      throw RpcError(rpc::invalid_request, "2026-07-28 has no JSON-RPC batches", http::status::bad_request);
    check_mirrored_headers(request, doc, true);
    ex.version = kModernVersion;
    return;
  }
  if (doc.IsObject()) {
    check_mirrored_headers(request, doc, false);
    // The two methods that need no session: the one that opens it, and discovery.
    const auto* method = string_member(doc, "method");
    if (method && (as_view(*method) == "initialize" || as_view(*method) == "server/discover")) return;
  } else {
    // Optional in this era but checked when present — for each message of a batch, since the
    // headers belong to the whole request.
    for (const auto& message : doc.GetArray())
      if (message.IsObject()) check_mirrored_headers(request, message, false);
  }
  const auto session = header(request, "Mcp-Session-Id");
  if (!session)
    throw RpcError(rpc::invalid_request, "the Mcp-Session-Id header is required: call initialize first",
                   http::status::bad_request);
  const auto version = sessions_.version_of(*session, ex.ctx.user().user_id);
  if (!version) throw RpcError(rpc::session_not_found, "session not found: initialize again", http::status::not_found);
  ex.version = *version;
}

Response Endpoint::post(RequestContext& ctx) {
  // (A foreign Origin was refused before the token was signed in: foreign_origin.)
  const auto format = reply_format(ctx.request);
  if (!format)
    return json_reply(http::status::not_acceptable,
                      error_message("null", RpcError(rpc::invalid_request,
                                                     "Accept must include application/json or text/event-stream")));
  const auto content_type = header(ctx.request, "Content-Type");
  if (!content_type || trimmed_lower(content_type->substr(0, content_type->find(';'))) != "application/json")
    return json_reply(http::status::unsupported_media_type,
                      error_message("null", RpcError(rpc::invalid_request, "Content-Type must be application/json")));

  rapidjson::Document doc;
  try {
    parse_json(ctx.request.body(), doc);
  } catch (const DomainError& e) {
    if (e.code() == ErrorCode::malformed_json)
      return json_reply(http::status::bad_request, error_message("null", RpcError(rpc::parse_error, e.what())));
    // JSON that breaks one of our limits (a string holding U+0000, nesting deeper than 64, …) is
    // still a request: read without our limits (iteratively: no recursion however deep it nests),
    // it passes the transport's checks first — an unknown session is 404, an unsupported version
    // 400, whatever the body holds — and is then answered as that request's invalid params when its
    // id can be read, so that the client matches the answer and a model can correct the arguments,
    // instead of a transport error with no id.
    rapidjson::Document loose;
    loose.Parse<rapidjson::kParseIterativeFlag>(ctx.request.body().data(), ctx.request.body().size());
    if (!loose.HasParseError()) {
      Exchange ex{ctx};
      try {
        establish_era(ex, loose);
      } catch (const RpcError& refused) {
        return json_reply(refused.status(), error_message(id_json(loose), refused));
      }
      if (const auto id = id_json(loose); id != "null")
        return reply(*format, http::status::ok, {error_message(id, RpcError(rpc::invalid_params, e.what()))}, false);
    }
    return json_reply(http::status::bad_request, error_message("null", RpcError(rpc::invalid_request, e.what())));
  }

  Exchange ex{ctx};
  try {
    establish_era(ex, doc);
  } catch (const RpcError& e) {
    return json_reply(e.status(), error_message(id_json(doc), e));
  }

  std::vector<std::string> messages;
  if (doc.IsArray()) {
    if (!allows_batches(ex.version))
      return json_reply(http::status::bad_request,
                        error_message("null", RpcError(rpc::invalid_request,
                                                       fmt::format("protocol version {} has no JSON-RPC batches",
                                                                   ex.version))));
    // The messages of a batch run one after the other on this request's thread and their answers
    // are held until the last: bounded, as the body's size alone would allow thousands.
    if (doc.Size() > kMaxBatchMessages)
      return json_reply(http::status::bad_request,
                        error_message("null", RpcError(rpc::invalid_request,
                                                       fmt::format("a batch of {} messages; at most {}", doc.Size(),
                                                                   kMaxBatchMessages))));
    for (const auto& message : doc.GetArray())
      if (auto answered = answer(ex, message, true)) messages.push_back(std::move(*answered));
  } else if (auto answered = answer(ex, doc, false)) {
    messages.push_back(std::move(*answered));
  }

  if (messages.empty()) {  // notifications and client responses only
    Response accepted{http::status::accepted, 11};
    accepted.prepare_payload();
    return accepted;
  }
  Response response = reply(*format, doc.IsArray() ? http::status::ok : ex.status, messages, doc.IsArray());
  if (!ex.opened_session.empty()) response.set("Mcp-Session-Id", ex.opened_session);
  return response;
}

// nullopt for a notification or a client's response; otherwise the response message. Errors of
// one message are its JSON-RPC error response, not the whole request's.
std::optional<std::string> Endpoint::answer(Exchange& ex, const rapidjson::Value& message, bool in_batch) {
  const std::string id = id_json(message);
  try {
    if (!message.IsObject()) throw RpcError(rpc::invalid_request, "a JSON-RPC message must be an object", http::status::bad_request);
    const auto* jsonrpc = string_member(message, "jsonrpc");
    if (!jsonrpc || as_view(*jsonrpc) != "2.0") throw RpcError(rpc::invalid_request, "jsonrpc must be \"2.0\"", http::status::bad_request);
    const auto id_member = message.FindMember("id");
    const bool has_id = id_member != message.MemberEnd();
    if (has_id && !(id_member->value.IsString() || id_member->value.IsNumber()))
      throw RpcError(rpc::invalid_request, "id must be a string or a number", http::status::bad_request);
    const auto* method = string_member(message, "method");
    if (!method) {
      if (has_id && (message.HasMember("result") || message.HasMember("error"))) return std::nullopt;
      throw RpcError(rpc::invalid_request, "a request needs a method, a string", http::status::bad_request);
    }
    // A notification: nothing to answer (unknown ones, and ones with bad params, included —
    // JSON-RPC never answers a notification, not even with an error).
    if (!has_id) return std::nullopt;
    static const rapidjson::Value no_params(rapidjson::kObjectType);
    const rapidjson::Value* params = params_of(message);
    if (params && !params->IsObject()) throw RpcError(rpc::invalid_params, "params must be an object");
    if (in_batch && as_view(*method) == "initialize")
      throw RpcError(rpc::invalid_request, "initialize must not be part of a batch");
    rapidjson::Document result = dispatch(ex, as_view(*method), params ? *params : no_params);
    if (ex.modern) add_modern_fields(as_view(*method), result);
    return result_message(id, result);
  } catch (const RpcError& e) {
    // 2026-07-28: "If the server does not implement the requested RPC method, it MUST respond with
    // 404 Not Found" — how a client that speaks both eras tells this server from one that predates it.
    if (!in_batch) ex.status = ex.modern && e.code() == rpc::method_not_found ? http::status::not_found : e.status();
    // 2026-07-28 folds "resource not found" into invalid params; earlier versions keep -32002.
    if (ex.modern && e.code() == rpc::resource_not_found)
      return error_message(id, RpcError(rpc::invalid_params, e.what(), e.status(), e.data_json()));
    return error_message(id, e);
  } catch (const std::exception& e) {
    spdlog::error("/mcp: {}", e.what());
    return error_message(id, RpcError(rpc::internal_error, "internal error"));
  }
}

rapidjson::Document Endpoint::dispatch(Exchange& ex, std::string_view method, const rapidjson::Value& params) {
  rapidjson::Document result(rapidjson::kObjectType);
  auto& a = result.GetAllocator();
  if (method == "initialize") {
    // The 2026-07-28 era has no handshake and no session: the method does not exist there.
    if (ex.modern)
      throw RpcError(rpc::method_not_found, "2026-07-28 has no initialize: call server/discover, or send requests directly",
                     http::status::ok, ErrorDetails().add("method", method).json());
    const auto* requested = string_member(params, "protocolVersion");
    if (!requested) throw RpcError(rpc::invalid_params, "initialize needs params.protocolVersion, a string");
    const std::string_view version = negotiate_version(as_view(*requested));
    ex.opened_session = sessions_.open(ex.ctx.user().user_id, version);
    result.AddMember("protocolVersion", text_value(version, a), a);
    add_server_description(result);
    return result;
  }
  if (method == "ping") return result;
  if (method == "server/discover") {
    rapidjson::Value supported(rapidjson::kArrayType);
    for (const auto v : classic_versions()) supported.PushBack(text_value(v, a), a);
    supported.PushBack(text_value(kModernVersion, a), a);
    result.AddMember("resultType", "complete", a);
    result.AddMember("supportedVersions", supported, a);
    add_server_description(result);
    // 2026-07-28 names the server in _meta; serverInfo stays for readers of the earlier draft.
    rapidjson::Value info(result["serverInfo"], a);
    rapidjson::Value meta(rapidjson::kObjectType);
    meta.AddMember(rapidjson::StringRef(kMetaServerInfo), info, a);
    result.AddMember("_meta", meta, a);
    return result;
  }
  if (method == "tools/list") {
    parse_json(tools_list_json(), result);
    return result;
  }
  if (method == "tools/call") return call_tool(router_, ex.ctx, params);
  if (method == "resources/list") return list_resources(router_, ex.ctx, params);
  if (method == "resources/templates/list") return list_resource_templates();
  if (method == "resources/read") return read_resource(router_, ex.ctx, params);
  throw RpcError(rpc::method_not_found, fmt::format("method not found: {}", method), http::status::ok,
                 ErrorDetails().add("method", method).json());
}

Response Endpoint::end_session(RequestContext& ctx) {
  try {
    modern_version_header(ctx.request);  // (a foreign Origin was refused before: foreign_origin)
  } catch (const RpcError& e) {
    return json_reply(e.status(), error_message("null", e));
  }
  const auto session = header(ctx.request, "Mcp-Session-Id");
  if (!session)
    return json_reply(http::status::bad_request,
                      error_message("null", RpcError(rpc::invalid_request, "the Mcp-Session-Id header is required")));
  if (!sessions_.close(*session, ctx.user().user_id))
    return json_reply(http::status::not_found, error_message("null", RpcError(rpc::session_not_found, "session not found")));
  Response response{http::status::no_content, 11};
  response.prepare_payload();
  return response;
}

// A foreign Origin is 403 before anything else about the request is looked at, its token included
// (the router runs this before signing the token in).
std::optional<Response> foreign_origin(const Request& request) {
  try {
    check_origin(request);
  } catch (const RpcError& e) {
    return json_reply(e.status(), error_message("null", e));
  }
  return std::nullopt;
}

}  // namespace

void add_mcp_routes(Router& router) {
  auto endpoint = std::make_shared<Endpoint>(router);
  const RouteOptions options{.before_sign_in = foreign_origin};
  router.add(http::verb::post, "/mcp", [endpoint](RequestContext& ctx) { return endpoint->post(ctx); }, options);
  router.add(http::verb::delete_, "/mcp", [endpoint](RequestContext& ctx) { return endpoint->end_session(ctx); },
             options);
}

}  // namespace tasklog::api
