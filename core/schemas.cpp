// The command schemas. Written with named placeholder types (the kFragments below, "uuid", and
// every domain enum by its schema_type) that are
// expanded once, at first use, into plain draft-04 — so the published schemas need no $ref and
// each enum's names come from its one EnumNames table.
#include "core/schemas.hpp"

#include "core/chooser.hpp"
#include "core/commands.hpp"
#include "core/error.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"
#include "core/project.hpp"
#include "core/records.hpp"
#include "core/task.hpp"

#include <fmt/format.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <map>
#include <memory>

namespace tasklog {
namespace {

constexpr const char* kCommandSchemas = R"json({
"create_project": {"description": "Create a project; you become its owner.",
  "type": "object", "additionalProperties": false, "required": ["name"],
  "properties": {
    "name": {"type": "project_name"},
    "description": {"type": "long_text"},
    "rules": {"type": "project_rules"}}},
"update_project": {"description": "Change a project's name, description or rules.",
  "type": "object", "additionalProperties": false, "required": ["project_id"],
  "properties": {
    "project_id": {"type": "uuid"},
    "name": {"type": "project_name"},
    "description": {"type": "long_text"},
    "rules": {"type": "project_rules"}}},
"archive_project": {"description": "Archive a project: it accepts no more changes.",
  "type": "object", "additionalProperties": false, "required": ["project_id"],
  "properties": {"project_id": {"type": "uuid"}, "reason": {"type": "note"}}},
"add_member": {"description": "Add a member to a project, or change a member's role.",
  "type": "object", "additionalProperties": false, "required": ["project_id", "user_id", "role"],
  "properties": {"project_id": {"type": "uuid"}, "user_id": {"type": "uuid"}, "role": {"type": "role"}}},
"remove_member": {"description": "Remove a member from a project.",
  "type": "object", "additionalProperties": false, "required": ["project_id", "user_id"],
  "properties": {"project_id": {"type": "uuid"}, "user_id": {"type": "uuid"}}},
"create_task": {"description": "Create a task in a project.",
  "type": "object", "additionalProperties": false, "required": ["project_id", "title"],
  "properties": {
    "project_id": {"type": "uuid"},
    "title": {"type": "title"},
    "description": {"type": "long_text"},
    "type": {"type": "task_type"},
    "priority": {"type": "priority"},
    "acceptance_criteria": {"type": "texts"},
    "constraints": {"type": "texts"},
    "dependencies": {"type": "array", "maxItems": 200, "items": {"type": "uuid"}, "description": "Tasks that must be done first."},
    "parent_task_id": {"type": "uuid"},
    "timebox_seconds": {"type": "integer", "minimum": 1}}},
"update_task": {"description": "Change a task's fields; new acceptance criteria start unmet. A held task needs its lease_token.",
  "type": "object", "additionalProperties": false, "required": ["task_id"],
  "properties": {
    "task_id": {"type": "uuid"},
    "title": {"type": "title"},
    "description": {"type": "long_text"},
    "type": {"type": "task_type"},
    "priority": {"type": "priority"},
    "acceptance_criteria": {"type": "texts"},
    "constraints": {"type": "texts"},
    "timebox_seconds": {"type": "integer", "minimum": 1},
    "lease_token": {"type": "uuid"}}},
"add_dependency": {"description": "Make a task wait for another; refused if it closes a cycle.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "depends_on"],
  "properties": {"task_id": {"type": "uuid"}, "depends_on": {"type": "uuid"}}},
"remove_dependency": {"description": "Remove a dependency.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "depends_on"],
  "properties": {"task_id": {"type": "uuid"}, "depends_on": {"type": "uuid"}}},
"claim_task": {"description": "Claim a ready task: returns a lease whose token every later call must carry.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "agent"],
  "properties": {"task_id": {"type": "uuid"}, "agent": {"type": "agent"}, "lease_seconds": {"type": "lease_seconds"}}},
"pick_next_task": {"description": "Choose the next ready task of a project by a strategy and claim it.",
  "type": "object", "additionalProperties": false, "required": ["project_id", "agent"],
  "properties": {"project_id": {"type": "uuid"}, "agent": {"type": "agent"}, "strategy": {"type": "pick_strategy"},
                 "lease_seconds": {"type": "lease_seconds"}}},
"heartbeat": {"description": "Extend your lease on a task.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "lease_token"],
  "properties": {"task_id": {"type": "uuid"}, "lease_token": {"type": "uuid"}, "lease_seconds": {"type": "lease_seconds"}}},
"release_task": {"description": "Give a claimed task back without counting an attempt.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "lease_token"],
  "properties": {"task_id": {"type": "uuid"}, "lease_token": {"type": "uuid"}, "reason": {"type": "note"}}},
"block_task": {"description": "Mark a task blocked, e.g. waiting for a person.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "reason"],
  "properties": {"task_id": {"type": "uuid"}, "reason": {"type": "required_note"},
                 "needs_human": {"type": "boolean"}, "lease_token": {"type": "uuid"}}},
"unblock_task": {"description": "Return a blocked task to todo.",
  "type": "object", "additionalProperties": false, "required": ["task_id"],
  "properties": {"task_id": {"type": "uuid"}, "note": {"type": "note"}}},
"mark_criterion_met": {"description": "Mark an acceptance criterion (0-based index) met, with evidence.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "index", "evidence"],
  "properties": {"task_id": {"type": "uuid"}, "index": {"type": "integer", "minimum": 0},
                 "evidence": {"type": "required_text"}, "lease_token": {"type": "uuid"}}},
"evaluate_gates": {"description": "Evaluate the project's completion gates for a task and record the result.",
  "type": "object", "additionalProperties": false, "required": ["task_id"],
  "properties": {"task_id": {"type": "uuid"},
                 "custom_passed": {"type": "array", "maxItems": 50, "items": {"type": "string", "minLength": 1, "maxLength": 100},
                                   "description": "Custom gates you report passed."},
                 "lease_token": {"type": "uuid"}}},
"assert_scope": {"description": "Check changed files against the project's scope rules and record the result.",
  "type": "object", "additionalProperties": false, "required": ["task_id"],
  "properties": {"task_id": {"type": "uuid"}, "files_changed": {"type": "paths"}, "files_added": {"type": "paths"},
                 "files_deleted": {"type": "paths"}, "lease_token": {"type": "uuid"}}},
"complete_task": {"description": "Complete a claimed task; refused while a gate fails (scope checks and custom gates count from this attempt only).",
  "type": "object", "additionalProperties": false, "required": ["task_id", "lease_token", "summary"],
  "properties": {"task_id": {"type": "uuid"}, "lease_token": {"type": "uuid"},
                 "summary": {"type": "required_text"},
                 "artifact_ids": {"type": "array", "maxItems": 200, "uniqueItems": true, "items": {"type": "uuid"}}}},
"fail_task": {"description": "Report a failed attempt; the task is retried with backoff until max_attempts.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "lease_token", "error"],
  "properties": {"task_id": {"type": "uuid"}, "lease_token": {"type": "uuid"},
                 "error": {"type": "required_text"}}},
"expire_lease": {"description": "Give up a lease that is past its time (the reaper's command).",
  "type": "object", "additionalProperties": false, "required": ["task_id", "lease_id"],
  "properties": {"task_id": {"type": "uuid"}, "lease_id": {"type": "uuid"}}},
"cancel_task": {"description": "Cancel a task that is not finished.",
  "type": "object", "additionalProperties": false, "required": ["task_id"],
  "properties": {"task_id": {"type": "uuid"}, "reason": {"type": "note"}}},
"reopen_task": {"description": "Return a done, failed or cancelled task to todo.",
  "type": "object", "additionalProperties": false, "required": ["task_id"],
  "properties": {"task_id": {"type": "uuid"}, "reason": {"type": "note"}}},
"append_message": {"description": "Add a chat message to a task.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "role", "content"],
  "properties": {"task_id": {"type": "uuid"}, "role": {"type": "message_role"},
                 "content": {"type": "string", "minLength": 1}, "lease_token": {"type": "uuid"}}},
"record_git_info": {"description": "Record a task's branch, pull request or commit.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "git"],
  "properties": {"task_id": {"type": "uuid"}, "lease_token": {"type": "uuid"},
    "git": {"type": "object", "additionalProperties": false, "minProperties": 1,
      "properties": {"branch": {"type": "string", "minLength": 1, "maxLength": 255},
                     "target_branch": {"type": "string", "minLength": 1, "maxLength": 255},
                     "pr_number": {"type": "integer", "minimum": 1},
                     "pr_url": {"type": "required_note"},
                     "commit_hash": {"type": "string", "pattern": "^[0-9a-fA-F]{7,64}$"}}}}},
"record_usage": {"description": "Add model usage (tokens, cost in USD) to a task's totals.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "tokens"],
  "properties": {"task_id": {"type": "uuid"}, "tokens": {"type": "integer", "minimum": 0, "maximum": 1000000000000},
                 "cost_usd": {"type": "number", "minimum": 0, "maximum": 1000000}, "lease_token": {"type": "uuid"}}},
"append_artifact": {"description": "Attach an artifact (diff, PR, test report, document) to a task.",
  "type": "object", "additionalProperties": false, "required": ["task_id", "type", "summary"],
  "properties": {"task_id": {"type": "uuid"}, "type": {"type": "artifact_type"},
                 "ref": {"type": "string", "maxLength": 2000, "description": "Where it lives: URL, path or commit."},
                 "summary": {"type": "string", "minLength": 1, "maxLength": 4000},
                 "content": {"type": "string", "description": "Inline content, at most 256 KiB."},
                 "lease_token": {"type": "uuid"}}},
"create_checkpoint": {"description": "Save where the project stands, with instructions to resume from here.",
  "type": "object", "additionalProperties": false, "required": ["project_id", "label", "summary"],
  "properties": {"project_id": {"type": "uuid"}, "task_id": {"type": "uuid"},
                 "label": {"type": "project_name"},
                 "summary": {"type": "required_text"},
                 "repo_ref": {"type": "string", "maxLength": 500},
                 "resume_instructions": {"type": "long_text"}}},
"record_decision": {"description": "Record a decision and why; may supersede an earlier one.",
  "type": "object", "additionalProperties": false, "required": ["project_id", "title", "choice", "rationale"],
  "properties": {"project_id": {"type": "uuid"}, "task_id": {"type": "uuid"},
                 "title": {"type": "title"},
                 "options": {"type": "texts"},
                 "choice": {"type": "required_note"},
                 "rationale": {"type": "required_text"},
                 "supersedes": {"type": "uuid", "description": "The decision this one replaces."}}}
})json";

constexpr const char* kUuidPattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

constexpr const char* kFragments = R"json({
"project_name": {"type": "string", "minLength": 1, "maxLength": 200},
"title": {"type": "string", "minLength": 1, "maxLength": 500},
"task_type": {"type": "string", "minLength": 1, "maxLength": 50, "description": "e.g. feature, bug, chore"},
"note": {"type": "string", "maxLength": 2000},
"required_note": {"type": "string", "minLength": 1, "maxLength": 2000},
"long_text": {"type": "string", "maxLength": 65536},
"required_text": {"type": "string", "minLength": 1, "maxLength": 65536},
"globs": {"type": "array", "maxItems": 200, "items": {"type": "string", "minLength": 1, "maxLength": 1000}},
"texts": {"type": "array", "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 4000}},
"paths": {"type": "array", "maxItems": 10000, "items": {"type": "string", "minLength": 1, "maxLength": 4096}},
"agent": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Your agent name."},
"lease_seconds": {"type": "integer", "minimum": 5, "maximum": 86400, "description": "Lease length; default: the project's."},
"project_rules": {"type": "object", "additionalProperties": false, "properties": {
  "gates": {"type": "array", "maxItems": 50, "description": "Checks a task must pass to complete.",
    "items": {"type": "object", "additionalProperties": false, "required": ["kind"], "properties": {
      "kind": {"type": "gate_kind"},
      "min_count": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "has_artifacts only."},
      "name": {"type": "string", "maxLength": 100, "description": "custom only."}}}},
  "scope": {"type": "object", "additionalProperties": false, "description": "Path globs (*, ?, **); forbidden wins.",
    "properties": {
      "allowed": {"type": "globs"}, "forbidden": {"type": "globs"}}},
  "max_attempts": {"type": "integer", "minimum": 1, "maximum": 100},
  "default_lease_seconds": {"type": "integer", "minimum": 5, "maximum": 86400}}}
})json";

using Allocator = rapidjson::Document::AllocatorType;

template <NamedEnum E>
void add_enum_fragment(rapidjson::Document& fragments) {
  auto& a = fragments.GetAllocator();
  rapidjson::Value names(rapidjson::kArrayType);
  for (const auto& [value, name] : EnumNames<E>::values) names.PushBack(rapidjson::StringRef(name.data(), name.size()), a);
  rapidjson::Value fragment(rapidjson::kObjectType);
  fragment.AddMember("type", "string", a);
  fragment.AddMember("enum", names, a);
  const std::string_view key = EnumNames<E>::schema_type;
  fragments.AddMember(rapidjson::StringRef(key.data(), key.size()), fragment, a);
}

rapidjson::Document load_fragments() {
  rapidjson::Document fragments;
  parse_json(kFragments, fragments);
  auto& a = fragments.GetAllocator();
  rapidjson::Value uuid(rapidjson::kObjectType);
  uuid.AddMember("type", "string", a);
  uuid.AddMember("pattern", rapidjson::StringRef(kUuidPattern), a);
  fragments.AddMember("uuid", uuid, a);
  add_enum_fragment<Role>(fragments);
  add_enum_fragment<GateKind>(fragments);
  add_enum_fragment<Priority>(fragments);
  add_enum_fragment<TaskStatus>(fragments);
  add_enum_fragment<ArtifactType>(fragments);
  add_enum_fragment<MessageRole>(fragments);
  add_enum_fragment<PickStrategy>(fragments);
  return fragments;
}

// Replaces {"type": "<placeholder>", ...} by the fragment's members (the node's own members, such
// as a description, win), then expands inside; fragments may use placeholders themselves.
void expand(rapidjson::Value& node, const rapidjson::Value& fragments, Allocator& a) {
  if (node.IsArray()) {
    for (auto& item : node.GetArray()) expand(item, fragments, a);
    return;
  }
  if (!node.IsObject()) return;
  const auto type = node.FindMember("type");
  if (type != node.MemberEnd() && type->value.IsString()) {
    const auto fragment = fragments.FindMember(type->value);
    if (fragment != fragments.MemberEnd()) {
      rapidjson::Value copy(fragment->value, a);
      node.RemoveMember("type");
      for (auto& m : copy.GetObject())
        if (!node.HasMember(m.name)) node.AddMember(m.name, m.value, a);
    }
  }
  for (auto& m : node.GetObject()) expand(m.value, fragments, a);
}

struct CompiledSchema {
  std::string_view name;
  rapidjson::Document source;  // the expanded schema, published as is; read-only once built
};

// RapidJSON 1.1 keeps the matching state of a "pattern" regex inside the compiled SchemaDocument
// (GenericRegex::stateSet_/state0_/state1_), so one SchemaDocument must never serve two validators
// at once: under concurrent requests valid UUIDs were intermittently refused. Each thread compiles
// its own SchemaDocument per command, once, from the shared read-only source.
const rapidjson::SchemaDocument& schema_of_this_thread(const CompiledSchema& compiled) {
  thread_local std::map<const CompiledSchema*, std::unique_ptr<rapidjson::SchemaDocument>> compiled_here;
  auto& slot = compiled_here[&compiled];
  if (!slot) slot = std::make_unique<rapidjson::SchemaDocument>(compiled.source);
  return *slot;
}

class SchemaRegistry {
 public:
  SchemaRegistry() {
    rapidjson::Document all;
    parse_json(kCommandSchemas, all);
    const rapidjson::Document fragments = load_fragments();
    collect_names(std::make_index_sequence<std::variant_size_v<Command>>{});
    for (const std::string_view name : names_) {
      const auto it = all.FindMember(rapidjson::StringRef(name.data(), name.size()));
      if (it == all.MemberEnd()) throw DomainError(ErrorCode::internal, fmt::format("no schema for command {}", name));
      auto compiled = std::make_unique<CompiledSchema>();
      compiled->name = name;
      compiled->source.CopyFrom(it->value, compiled->source.GetAllocator());
      expand(compiled->source, fragments, compiled->source.GetAllocator());
      rapidjson::SchemaDocument{compiled->source};  // compiles at start-up, so a broken schema fails early
      by_name_.emplace(name, std::move(compiled));
    }
    if (all.MemberCount() != names_.size())
      throw DomainError(ErrorCode::internal, "a command schema names no command");
  }

  const std::vector<std::string_view>& names() const { return names_; }

  const CompiledSchema& find(std::string_view name) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end())
      throw DomainError(ErrorCode::not_found, fmt::format("unknown command '{}'", name),
                        ErrorDetails{}.add("command", name).json());
    return *it->second;
  }

 private:
  template <std::size_t... I>
  void collect_names(std::index_sequence<I...>) {
    (names_.push_back(std::variant_alternative_t<I, Command>::name), ...);
  }

  std::vector<std::string_view> names_;
  std::map<std::string_view, std::unique_ptr<CompiledSchema>> by_name_;
};

const SchemaRegistry& registry() {
  static const SchemaRegistry instance;
  return instance;
}

std::string pointer_text(const rapidjson::Pointer& pointer) {
  rapidjson::StringBuffer buffer;
  pointer.Stringify(buffer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string value_text(const rapidjson::Value* v) {
  if (!v) return "?";
  if (v->IsString()) return {v->GetString(), v->GetStringLength()};
  if (v->IsArray()) {
    std::vector<std::string> items;
    for (const auto& item : v->GetArray()) items.push_back(value_text(&item));
    return fmt::format("{}", fmt::join(items, ", "));
  }
  return to_json(*v);
}

// What the failed keyword asks for, in words.
std::string requirement(std::string_view keyword, const rapidjson::Value& schema) {
  const auto arg = [&](const char* key) {
    const auto it = schema.FindMember(key);
    return value_text(it == schema.MemberEnd() ? nullptr : &it->value);
  };
  if (keyword == "type") return "must be of type " + arg("type");
  if (keyword == "required") return "is required";
  if (keyword == "additionalProperties") return "is not a known field";
  if (keyword == "minimum") return "must be at least " + arg("minimum");
  if (keyword == "maximum") return "must be at most " + arg("maximum");
  if (keyword == "minLength") return "must be at least " + arg("minLength") + " character(s) long";
  if (keyword == "maxLength") return "must be at most " + arg("maxLength") + " characters long";
  if (keyword == "minItems") return "must have at least " + arg("minItems") + " item(s)";
  if (keyword == "maxItems") return "must have at most " + arg("maxItems") + " items";
  if (keyword == "minProperties") return "must have at least " + arg("minProperties") + " member(s)";
  if (keyword == "enum") return "must be one of: " + arg("enum");
  if (keyword == "pattern") return arg("pattern") == kUuidPattern ? "must be a UUID" : "must match " + arg("pattern");
  if (keyword == "uniqueItems") return "repeats an earlier item (each may appear once)";
  return fmt::format("violates '{}'", keyword);
}

// For required and additionalProperties RapidJSON points at the object; name the member instead.
std::string offending_member(std::string_view keyword, const rapidjson::Value& schema, const rapidjson::Value* object) {
  if (!object || !object->IsObject()) return {};
  if (keyword == "required") {
    const auto required = schema.FindMember("required");
    if (required == schema.MemberEnd()) return {};
    for (const auto& name : required->value.GetArray())
      if (!object->HasMember(name)) return {name.GetString(), name.GetStringLength()};
  } else if (keyword == "additionalProperties") {
    const auto properties = schema.FindMember("properties");
    for (const auto& m : object->GetObject())
      if (properties == schema.MemberEnd() || !properties->value.HasMember(m.name))
        return {m.name.GetString(), m.name.GetStringLength()};
  }
  return {};
}

}  // namespace

const std::vector<std::string_view>& command_names() { return registry().names(); }

const rapidjson::Value& command_schema(std::string_view command_name) { return registry().find(command_name).source; }

std::string command_schema_json(std::string_view command_name) { return to_json(command_schema(command_name)); }

std::string_view command_description(std::string_view command_name) {
  const auto& d = command_schema(command_name)["description"];
  return {d.GetString(), d.GetStringLength()};
}

namespace {

// Checks `body` against `source` as compiled in `schema` (this thread's); on a violation throws
// what validate_command promises, the input named by details[kind] = command_name.
void validate(std::string_view kind, std::string_view command_name, const rapidjson::Value& source,
              const rapidjson::SchemaDocument& schema_document, const rapidjson::Value& body) {
  rapidjson::SchemaValidator validator(schema_document);
  if (body.Accept(validator)) return;

  const std::string keyword = validator.GetInvalidSchemaKeyword();
  const rapidjson::Pointer schema_pointer = validator.GetInvalidSchemaPointer();
  const rapidjson::Pointer document_pointer = validator.GetInvalidDocumentPointer();
  const rapidjson::Value* subschema = schema_pointer.Get(source);
  const rapidjson::Value& schema = subschema ? *subschema : source;

  std::string path = pointer_text(document_pointer);
  if (const std::string member = offending_member(keyword, schema, document_pointer.Get(body)); !member.empty())
    path += "/" + member;
  throw DomainError(ErrorCode::validation_failed,
                    fmt::format("invalid {} input: {} {}", command_name, path.empty() ? "the body" : path,
                                requirement(keyword, schema)),
                    ErrorDetails{}.add(kind, command_name).add("path", path).add("keyword", keyword)
                        .add("schema_path", "#" + pointer_text(schema_pointer)).json());
}

}  // namespace

void validate_command(std::string_view command_name, const rapidjson::Value& body) {
  const CompiledSchema& compiled = registry().find(command_name);
  validate("command", command_name, compiled.source, schema_of_this_thread(compiled), body);
}

void validate_input(std::string_view kind, std::string_view name, const rapidjson::Value& schema,
                    const rapidjson::Value& body) {
  // Compiled once per thread (see schema_of_this_thread), keyed by the schema's address: the
  // caller's schema lives as long as the program (see the header).
  thread_local std::map<const rapidjson::Value*, std::unique_ptr<rapidjson::SchemaDocument>> compiled_here;
  auto& slot = compiled_here[&schema];
  if (!slot) slot = std::make_unique<rapidjson::SchemaDocument>(schema);
  validate(kind, name, schema, *slot, body);
}

}  // namespace tasklog
