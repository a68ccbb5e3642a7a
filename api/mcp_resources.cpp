// MCP resources over the /v1 GET routes (see the header).
#include "api/mcp_resources.hpp"

#include "api/mcp_protocol.hpp"
#include "api/mcp_rest.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"

#include <fmt/format.h>

#include <array>

namespace tasklog::api::mcp {
namespace {

using Allocator = rapidjson::Document::AllocatorType;
constexpr std::string_view kScheme = "tasklog://";

struct ResourceKind {
  std::string_view root;  // "project", "task", "checkpoint"
  std::string_view sub;   // "" for the entity itself
  std::string_view rest_root;
  std::string_view rest_sub;
  std::string_view description;
};

constexpr std::array kKinds{
    ResourceKind{"project", "", "/v1/projects/", "", "A project with its members and your role."},
    ResourceKind{"project", "tasks", "/v1/projects/", "/tasks", "A project's tasks (?status=&ready=true&limit=&cursor=)."},
    ResourceKind{"project", "timeline", "/v1/projects/", "/events", "A project's events in log order (?after=&limit=)."},
    ResourceKind{"project", "decisions", "/v1/projects/", "/decisions", "A project's decisions (?after=&limit=)."},
    ResourceKind{"task", "", "/v1/tasks/", "", "A task: status, lease, criteria, gates, artifacts."},
    ResourceKind{"task", "events", "/v1/tasks/", "/events", "A task's events in log order (?after=&limit=)."},
    ResourceKind{"checkpoint", "", "/v1/checkpoints/", "", "A checkpoint with its resume instructions."},
};

rapidjson::Value text_value(std::string_view text, Allocator& a) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a);
}

[[noreturn]] void no_such_uri(std::string_view uri) {
  throw RpcError(rpc::invalid_params, fmt::format("'{}' names no tasklog resource", uri), http::status::ok,
                 ErrorDetails().add("uri", uri).json());
}

// The /v1 target of a resource URI.
std::string rest_target(std::string_view uri) {
  if (!uri.starts_with(kScheme)) no_such_uri(uri);
  std::string_view path = uri.substr(kScheme.size());
  std::string_view query;
  if (const auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q);
    path = path.substr(0, q);
  }
  // A query goes on verbatim, but only as query characters: nothing that could end the target.
  for (const char c : query)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '#' || static_cast<unsigned char>(c) >= 0x7f) no_such_uri(uri);
  if (path == "projects") return fmt::format("/v1/projects{}", query);
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) no_such_uri(uri);
  const std::string_view root = path.substr(0, slash);
  std::string_view rest = path.substr(slash + 1);
  const auto next = rest.find('/');
  const std::string_view id = rest.substr(0, next);
  const std::string_view sub = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
  // One URI per resource: `tasklog://project/{id}/` is no second name for the project.
  if (next != std::string_view::npos && sub.empty()) no_such_uri(uri);
  for (const auto& kind : kKinds) {
    if (kind.root != root || kind.sub != sub) continue;
    if (!parse_uuid(id))
      throw RpcError(rpc::invalid_params, fmt::format("the id in '{}' must be a UUID", uri), http::status::ok,
                     ErrorDetails().add("uri", uri).json());
    return fmt::format("{}{}{}{}", kind.rest_root, id, kind.rest_sub, query);
  }
  no_such_uri(uri);
}

void add_json_text(rapidjson::Value& target, const char* key, const std::string& json, Allocator& a) {
  rapidjson::Document parsed;
  parse_json(json, parsed);
  rapidjson::Value copy(parsed, a);
  target.AddMember(rapidjson::StringRef(key), copy, a);
}

// A non-2xx REST answer as the JSON-RPC error of a resource request.
[[noreturn]] void rest_failure(std::string_view uri, const RestReply& reply) {
  rapidjson::Document data(rapidjson::kObjectType);
  auto& a = data.GetAllocator();
  data.AddMember("uri", text_value(uri, a), a);
  if (!reply.body.empty()) add_json_text(data, "rest", reply.body, a);
  if (reply.status == 404)
    throw RpcError(rpc::resource_not_found, fmt::format("resource not found: {}", uri), http::status::ok, to_json(data));
  if (reply.status < 500)
    throw RpcError(rpc::invalid_params, fmt::format("cannot read {}", uri), http::status::ok, to_json(data));
  throw RpcError(rpc::internal_error, fmt::format("reading {} failed", uri), http::status::ok, to_json(data));
}

rapidjson::Value resource_entry(std::string_view uri, std::string_view name, std::string_view description, Allocator& a) {
  rapidjson::Value r(rapidjson::kObjectType);
  r.AddMember("uri", text_value(uri, a), a);
  r.AddMember("name", text_value(name, a), a);
  if (!description.empty()) r.AddMember("description", text_value(description, a), a);
  r.AddMember("mimeType", "application/json", a);
  return r;
}

}  // namespace

rapidjson::Document list_resources(const Router& router, const RequestContext& ctx, const rapidjson::Value& params) {
  std::string target = "/v1/projects?limit=100";
  const auto* cursor = string_member(params, "cursor");
  if (cursor) target += "&cursor=" + percent_encode(as_view(*cursor));
  const RestReply reply = call_rest(router, ctx, RestCall{.method = http::verb::get, .target = target});
  if (!reply.ok()) rest_failure("tasklog://projects", reply);

  rapidjson::Document result(rapidjson::kObjectType);
  auto& a = result.GetAllocator();
  rapidjson::Value resources(rapidjson::kArrayType);
  if (!cursor) resources.PushBack(resource_entry("tasklog://projects", "projects", "The projects you can see.", a), a);
  rapidjson::Document page;
  parse_json(reply.body, page);
  for (const auto& project : page["data"].GetArray()) {
    const auto* id = string_member(project, "id");
    const auto* name = string_member(project, "name");
    if (!id || !name) continue;
    resources.PushBack(resource_entry(fmt::format("tasklog://project/{}", as_view(*id)), as_view(*name), {}, a), a);
  }
  result.AddMember("resources", resources, a);
  if (const auto* next = string_member(page, "next_cursor")) result.AddMember("nextCursor", rapidjson::Value(*next, a), a);
  return result;
}

rapidjson::Document list_resource_templates() {
  rapidjson::Document result(rapidjson::kObjectType);
  auto& a = result.GetAllocator();
  rapidjson::Value templates(rapidjson::kArrayType);
  for (const auto& kind : kKinds) {
    const std::string uri = kind.sub.empty() ? fmt::format("{}{}/{{id}}", kScheme, kind.root)
                                             : fmt::format("{}{}/{{id}}/{}", kScheme, kind.root, kind.sub);
    const std::string name = kind.sub.empty() ? std::string(kind.root) : fmt::format("{}_{}", kind.root, kind.sub);
    rapidjson::Value t(rapidjson::kObjectType);
    t.AddMember("uriTemplate", text_value(uri, a), a);
    t.AddMember("name", text_value(name, a), a);
    t.AddMember("description", text_value(kind.description, a), a);
    t.AddMember("mimeType", "application/json", a);
    templates.PushBack(t, a);
  }
  result.AddMember("resourceTemplates", templates, a);
  return result;
}

rapidjson::Document read_resource(const Router& router, const RequestContext& ctx, const rapidjson::Value& params) {
  const auto* uri_value = string_member(params, "uri");
  if (!uri_value) throw RpcError(rpc::invalid_params, "resources/read needs params.uri, a string");
  const std::string_view uri = as_view(*uri_value);
  const RestReply reply = call_rest(router, ctx, RestCall{.method = http::verb::get, .target = rest_target(uri)});
  if (!reply.ok()) rest_failure(uri, reply);

  rapidjson::Document result(rapidjson::kObjectType);
  auto& a = result.GetAllocator();
  rapidjson::Value content(rapidjson::kObjectType);
  content.AddMember("uri", text_value(uri, a), a);
  content.AddMember("mimeType", "application/json", a);
  content.AddMember("text", text_value(reply.body, a), a);
  rapidjson::Value contents(rapidjson::kArrayType);
  contents.PushBack(content, a);
  result.AddMember("contents", contents, a);
  return result;
}

}  // namespace tasklog::api::mcp
