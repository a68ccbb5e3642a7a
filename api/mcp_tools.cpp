// The MCP tool table, its input schemas and tools/call (see the header).
#include "api/mcp_tools.hpp"

#include "api/mcp_protocol.hpp"
#include "api/mcp_rest.hpp"
#include "core/enum_names.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"
#include "core/schemas.hpp"
#include "core/task.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

namespace tasklog::api::mcp {
namespace {

using Allocator = rapidjson::Document::AllocatorType;

// One tool: the route it calls and where its schema comes from. Path placeholders ("{task_id}")
// name arguments; for GET routes the other arguments become the query string, otherwise the body.
struct ToolSpec {
  std::string_view name;
  http::verb method;
  std::string_view path;
  std::string_view command{};      // the command whose schema is the input schema
  std::string_view description{};  // read tools only; commands describe themselves
  std::string_view read_schema{};  // read tools only; "uuid"/"status"/"priority" placeholders expanded
};

using http::verb;
const std::vector<ToolSpec>& specs() {
  static const std::vector<ToolSpec> all{
      {"create_project", verb::post, "/v1/projects", "create_project"},
      {"list_projects", verb::get, "/v1/projects", {}, "List your projects (paged: pass next_cursor back as cursor).",
       R"({"limit":{"type":"integer","minimum":1,"maximum":500},"cursor":{"type":"string"}})"},
      {"get_context", verb::get, "/v1/projects/{project_id}/context", {},
       "What to read before working on a project: the project, its tasks, who holds what, the latest checkpoint "
       "and recent decisions; at = a log position or an RFC 3339 time for the past.",
       R"({"project_id":"uuid","at":{"type":["integer","string"],"minimum":0}})"},
      {"create_task", verb::post, "/v1/projects/{project_id}/tasks", "create_task"},
      {"list_tasks", verb::get, "/v1/projects/{project_id}/tasks", {},
       "List a project's tasks, optionally by status or priority, or only ready ones.",
       R"({"project_id":"uuid","status":"status","priority":"priority","ready":{"type":"boolean"},)"
       R"("limit":{"type":"integer","minimum":1,"maximum":500},"cursor":{"type":"string"}})"},
      {"update_task", verb::patch, "/v1/tasks/{task_id}", "update_task"},
      {"pick_next_task", verb::post, "/v1/projects/{project_id}/tasks/next", "pick_next_task"},
      {"claim_task", verb::post, "/v1/tasks/{task_id}/claim", "claim_task"},
      {"heartbeat_task", verb::post, "/v1/tasks/{task_id}/heartbeat", "heartbeat"},
      {"release_task", verb::post, "/v1/tasks/{task_id}/release", "release_task"},
      {"block_task", verb::post, "/v1/tasks/{task_id}/block", "block_task"},
      {"unblock_task", verb::post, "/v1/tasks/{task_id}/unblock", "unblock_task"},
      {"mark_criterion", verb::post, "/v1/tasks/{task_id}/criteria/{index}", "mark_criterion_met"},
      {"evaluate_gates", verb::post, "/v1/tasks/{task_id}/gates/evaluate", "evaluate_gates"},
      {"assert_in_scope", verb::post, "/v1/tasks/{task_id}/scope", "assert_scope"},
      {"complete_task", verb::post, "/v1/tasks/{task_id}/complete", "complete_task"},
      {"fail_task", verb::post, "/v1/tasks/{task_id}/fail", "fail_task"},
      {"cancel_task", verb::post, "/v1/tasks/{task_id}/cancel", "cancel_task"},
      {"add_dependency", verb::post, "/v1/tasks/{task_id}/dependencies", "add_dependency"},
      {"append_artifact", verb::post, "/v1/tasks/{task_id}/artifacts", "append_artifact"},
      {"append_message", verb::post, "/v1/tasks/{task_id}/messages", "append_message"},
      {"create_checkpoint", verb::post, "/v1/projects/{project_id}/checkpoints", "create_checkpoint"},
      {"record_decision", verb::post, "/v1/projects/{project_id}/decisions", "record_decision"},
      {"get_task_timeline", verb::get, "/v1/tasks/{task_id}/events", {},
       "A task's events in log order (paged: pass the last position as after).",
       R"({"task_id":"uuid","after":{"type":"integer","minimum":0},"limit":{"type":"integer","minimum":1,"maximum":500}})"},
  };
  return all;
}

// update_task's optimistic concurrency: the REST route takes it as If-Match.
constexpr const char* kExpectedVersion = "expected_version";

const ToolSpec* find_spec(std::string_view name) {
  const auto& all = specs();
  const auto it = std::find_if(all.begin(), all.end(), [&](const ToolSpec& s) { return s.name == name; });
  return it == all.end() ? nullptr : &*it;
}

// The UUID pattern as the command schemas spell it, read from one of them rather than repeated.
std::string_view uuid_pattern() {
  const auto& id = command_schema("claim_task")["properties"]["task_id"]["pattern"];
  return as_view(id);
}

// Tokens are what an agent pays for a schema: the 90-byte UUID regex becomes "format":"uuid", and
// length and count limits go (the server still enforces them; a refusal names the limit). Types,
// enums, required members, minimums and descriptions stay: they are what an agent needs to call.
void compact(rapidjson::Value& node, Allocator& a) {
  if (node.IsArray()) {
    for (auto& item : node.GetArray()) compact(item, a);
    return;
  }
  if (!node.IsObject()) return;
  if (const auto* pattern = string_member(node, "pattern"); pattern && as_view(*pattern) == uuid_pattern()) {
    node.EraseMember("pattern");
    node.AddMember("format", "uuid", a);
  }
  for (const char* limit : {"maxLength", "maxItems", "minLength", "minItems"}) node.EraseMember(limit);
  for (auto& m : node.GetObject()) compact(m.value, a);
}

rapidjson::Value enum_schema(const std::vector<std::string_view>& names, Allocator& a) {
  rapidjson::Value values(rapidjson::kArrayType);
  for (const auto name : names) values.PushBack(rapidjson::StringRef(name.data(), name.size()), a);
  rapidjson::Value schema(rapidjson::kObjectType);
  schema.AddMember("type", "string", a);
  schema.AddMember("enum", values, a);
  return schema;
}

template <NamedEnum E>
std::vector<std::string_view> names_of() {
  std::vector<std::string_view> out;
  for (const auto& [value, name] : EnumNames<E>::values) out.push_back(name);
  return out;
}

void input_schema(const ToolSpec& spec, rapidjson::Value& out, Allocator& a) {
  if (!spec.command.empty()) {
    out.CopyFrom(command_schema(spec.command), a);
    out.EraseMember("description");  // it is the tool's description (Erase keeps "type" first)
    compact(out, a);
    if (spec.name == "update_task") {
      rapidjson::Value version(rapidjson::kObjectType);
      version.AddMember("type", "integer", a);
      version.AddMember("description", "The task's version you read (If-Match); refused if it changed.", a);
      out["properties"].AddMember(rapidjson::StringRef(kExpectedVersion), version, a);
    }
    return;
  }
  rapidjson::Document properties;
  parse_json(spec.read_schema, properties);
  rapidjson::Value required(rapidjson::kArrayType);
  rapidjson::Value props(rapidjson::kObjectType);
  for (auto& m : properties.GetObject()) {
    rapidjson::Value key(m.name, a);
    rapidjson::Value schema;
    if (m.value.IsString() && as_view(m.value) == "uuid") {
      schema.SetObject();
      schema.AddMember("type", "string", a);
      schema.AddMember("format", "uuid", a);
      required.PushBack(rapidjson::Value(m.name, a), a);  // the path ids, the only required members
    } else if (m.value.IsString() && as_view(m.value) == "status") {
      schema = enum_schema(names_of<TaskStatus>(), a);
    } else if (m.value.IsString() && as_view(m.value) == "priority") {
      schema = enum_schema(names_of<Priority>(), a);
    } else {
      schema.CopyFrom(m.value, a);
    }
    props.AddMember(key, schema, a);
  }
  out.SetObject();
  out.AddMember("type", "object", a);
  out.AddMember("additionalProperties", false, a);
  if (!required.Empty()) out.AddMember("required", required, a);
  out.AddMember("properties", props, a);
}

std::string build_tools_list() {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value tools(rapidjson::kArrayType);
  for (const auto& spec : specs()) {
    rapidjson::Value tool(rapidjson::kObjectType);
    tool.AddMember("name", rapidjson::StringRef(spec.name.data(), spec.name.size()), a);
    const std::string_view description = spec.command.empty() ? spec.description : command_description(spec.command);
    const auto description_size = static_cast<rapidjson::SizeType>(description.size());
    tool.AddMember("description", rapidjson::Value(description.data(), description_size, a), a);
    rapidjson::Value schema;
    input_schema(spec, schema, a);
    tool.AddMember("inputSchema", schema, a);
    if (spec.method == verb::get) {
      // Lets a client run reads without asking its user first.
      rapidjson::Value annotations(rapidjson::kObjectType);
      annotations.AddMember("readOnlyHint", true, a);
      tool.AddMember("annotations", annotations, a);
    }
    tools.PushBack(tool, a);
  }
  doc.AddMember("tools", tools, a);
  return to_json(doc);
}

// A refusal in the REST error shape, produced by the same function the REST layer uses.
RestReply refusal(const DomainError& error) {
  const Response response = error_response(error);
  return RestReply{.status = response.result_int(), .body = response.body()};
}

[[noreturn]] void invalid_argument(std::string_view member, std::string_view keyword, std::string message) {
  throw DomainError(ErrorCode::validation_failed, std::move(message),
                    ErrorDetails().add("path", fmt::format("/{}", member)).add("keyword", keyword).json());
}

// A path placeholder's value: ids must be UUID strings, the criterion index a non-negative integer.
std::string path_value(const rapidjson::Value& args, std::string_view name) {
  const std::string key(name);
  const auto it = args.FindMember(key.c_str());
  if (it == args.MemberEnd()) invalid_argument(name, "required", fmt::format("{} is required", name));
  if (name == "index") {
    if (!it->value.IsUint64()) invalid_argument(name, "type", "index must be a non-negative integer");
    return std::to_string(it->value.GetUint64());
  }
  if (!it->value.IsString() || !parse_uuid(as_view(it->value)))
    invalid_argument(name, "pattern", fmt::format("{} must be a UUID", name));
  return std::string(as_view(it->value));
}

// A scalar argument as query text.
std::string query_value(const rapidjson::Value& value, std::string_view name) {
  if (value.IsString()) return percent_encode(as_view(value));
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  if (value.IsInt64()) return std::to_string(value.GetInt64());
  invalid_argument(name, "type", fmt::format("{} must be a string, integer or boolean", name));
}

// A read tool's input schema as tools/list publishes it, kept for checking its arguments: the REST
// route would read a limit of "5" or a stray member's text as query text. (A command's arguments
// are checked by the route against the command's own schema.)
const rapidjson::Value& read_tool_schema(const ToolSpec& spec) {
  static const auto schemas = [] {
    std::map<std::string_view, rapidjson::Document> all;
    for (const auto& each : specs()) {
      if (each.method != verb::get) continue;
      rapidjson::Document& schema = all[each.name];
      input_schema(each, schema, schema.GetAllocator());
    }
    return all;
  }();
  return schemas.at(spec.name);
}

RestCall rest_call(const ToolSpec& spec, const rapidjson::Value& args) {
  if (spec.method == verb::get) validate_input("tool", spec.name, read_tool_schema(spec), args);
  RestCall call{.method = spec.method};
  std::vector<std::string_view> path_names;
  std::string_view rest = spec.path;
  while (!rest.empty()) {
    const auto open = rest.find('{');
    call.target += rest.substr(0, open);
    if (open == std::string_view::npos) break;
    const auto close = rest.find('}', open);
    const auto name = rest.substr(open + 1, close - open - 1);
    call.target += percent_encode(path_value(args, name));
    path_names.push_back(name);
    rest.remove_prefix(close + 1);
  }
  if (spec.method == verb::get) {
    // Every member is one of the schema's (validate_input above): the path's, or a query parameter.
    char separator = '?';
    for (const auto& m : args.GetObject()) {
      const std::string_view name = as_view(m.name);
      if (std::find(path_names.begin(), path_names.end(), name) != path_names.end()) continue;
      call.target += fmt::format("{}{}={}", separator, name, query_value(m.value, name));
      separator = '&';
    }
    return call;
  }
  rapidjson::Document body;
  body.CopyFrom(args, body.GetAllocator());
  if (const auto version = body.FindMember(kExpectedVersion); spec.name == "update_task" && version != body.MemberEnd()) {
    if (!version->value.IsInt64() || version->value.GetInt64() < 0)
      invalid_argument(kExpectedVersion, "type", "expected_version must be a non-negative integer");
    call.headers.emplace_back("If-Match", std::to_string(version->value.GetInt64()));
    body.RemoveMember(kExpectedVersion);
  }
  call.body = to_json(body);
  return call;
}

}  // namespace

const std::string& tools_list_json() {
  static const std::string json = build_tools_list();
  return json;
}

rapidjson::Document call_tool(const Router& router, const RequestContext& ctx, const rapidjson::Value& params) {
  const auto* name = string_member(params, "name");
  if (!name) throw RpcError(rpc::invalid_params, "tools/call needs params.name, a string");
  const ToolSpec* spec = find_spec(as_view(*name));
  if (!spec)
    throw RpcError(rpc::invalid_params, fmt::format("unknown tool '{}'", as_view(*name)), http::status::ok,
                   ErrorDetails().add("tool", as_view(*name)).json());
  static const rapidjson::Value no_arguments(rapidjson::kObjectType);
  const rapidjson::Value* args = &no_arguments;
  if (const auto it = params.FindMember("arguments"); it != params.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsObject()) throw RpcError(rpc::invalid_params, "tools/call params.arguments must be an object");
    args = &it->value;
  }
  std::optional<std::string> idempotency_key;
  if (const auto meta = params.FindMember("_meta"); meta != params.MemberEnd() && meta->value.IsObject()) {
    if (const auto key = meta->value.FindMember("idempotency_key"); key != meta->value.MemberEnd()) {
      if (!key->value.IsString()) throw RpcError(rpc::invalid_params, "_meta.idempotency_key must be a string");
      idempotency_key = std::string(as_view(key->value));
    }
  }

  RestReply reply;
  try {
    RestCall call = rest_call(*spec, *args);
    if (idempotency_key) call.headers.emplace_back("Idempotency-Key", *idempotency_key);
    reply = call_rest(router, ctx, call);
  } catch (const DomainError& e) {
    reply = refusal(e);
  }
  if (reply.body.empty()) reply.body = R"({"data":null})";  // 204: pick_next_task found nothing ready

  rapidjson::Document result(rapidjson::kObjectType);
  auto& a = result.GetAllocator();
  rapidjson::Value structured;
  {
    rapidjson::Document parsed;
    parse_json(reply.body, parsed);
    structured.CopyFrom(parsed, a);
  }
  rapidjson::Value text(rapidjson::kObjectType);
  text.AddMember("type", "text", a);
  text.AddMember("text", rapidjson::Value(reply.body.data(), static_cast<rapidjson::SizeType>(reply.body.size()), a), a);
  rapidjson::Value content(rapidjson::kArrayType);
  content.PushBack(text, a);
  result.AddMember("content", content, a);
  result.AddMember("structuredContent", structured, a);
  result.AddMember("isError", !reply.ok(), a);
  return result;
}

}  // namespace tasklog::api::mcp
