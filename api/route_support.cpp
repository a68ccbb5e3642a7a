// The parts every /v1 handler shares: request reading (body, path ids, query parameters,
// If-Match), access checks under row-level security, running a command, and the response envelope.
#include "api/route_support.hpp"

#include "api/task_json.hpp"
#include "events/database.hpp"

#include "core/command_parser.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>

namespace tasklog::api {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Digits only (no sign, no space): strtoll-style leniency would let "-1" or "1e3" through.
std::optional<std::int64_t> parse_non_negative(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || text.front() == '+') return std::nullopt;
  return value;
}

int role_rank(std::string_view role) {
  if (role == "owner") return 2;
  if (role == "member") return 1;
  return 0;  // viewer
}

void write_raw(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::optional<std::string>& json) {
  if (json)
    w.RawValue(json->data(), json->size(), rapidjson::kObjectType);
  else
    w.Null();
}

}  // namespace

[[noreturn]] void bad_parameter(std::string_view name, std::string message) {
  throw DomainError(ErrorCode::validation_failed, std::move(message),
                    ErrorDetails().add("parameter", name).add("keyword", "syntax").json());
}

rapidjson::Document json_body(const RequestContext& ctx) {
  rapidjson::Document doc;
  const std::string& body = ctx.request.body();
  if (body.empty()) {
    doc.SetObject();
    return doc;
  }
  const auto content_type = ctx.request.find(http::field::content_type);
  const std::string media =
      content_type == ctx.request.end() ? std::string() : lower(std::string(content_type->value()));
  const std::string_view essence = std::string_view(media).substr(0, media.find(';'));
  const auto trimmed_end = essence.find_last_not_of(" \t");
  if (trimmed_end == std::string_view::npos || essence.substr(0, trimmed_end + 1) != "application/json")
    throw DomainError(ErrorCode::unsupported_media_type, "the body must be application/json",
                      ErrorDetails().add("content_type", media).json());
  parse_json(body, doc);
  if (!doc.IsObject())
    throw DomainError(ErrorCode::validation_failed, "the body must be a JSON object",
                      ErrorDetails().add("path", "").add("keyword", "type").json());
  // Which of two values for one key counts differs between readers (the command decoder takes the
  // first; canonical JSON — the idempotency key's request hash — and jsonb take the last), so a
  // body that has one is refused rather than read one way and remembered the other.
  if (const auto twice = first_duplicate_key(doc))
    throw DomainError(ErrorCode::validation_failed, fmt::format("the body has the key {} twice", *twice),
                      ErrorDetails().add("path", *twice).add("keyword", "duplicate_key").json());
  return doc;
}

Uuid id_param(const RequestContext& ctx, std::size_t index, std::string_view name) {
  const std::string& text = ctx.params.at(index);
  const auto id = parse_uuid(text);
  if (!id) bad_parameter(name, fmt::format("{} must be a UUID", name));
  return *id;
}

std::size_t page_limit(const RequestContext& ctx) {
  const auto it = ctx.query.find("limit");
  if (it == ctx.query.end()) return ctx.services.limits.default_page_size;
  const auto value = parse_non_negative(it->second);
  if (!value || *value < 1 || static_cast<std::uint64_t>(*value) > ctx.services.limits.max_page_size)
    bad_parameter("limit", fmt::format("limit must be an integer from 1 to {}", ctx.services.limits.max_page_size));
  return static_cast<std::size_t>(*value);
}

std::optional<std::int64_t> int_query(const RequestContext& ctx, std::string_view name) {
  const auto it = ctx.query.find(name);
  if (it == ctx.query.end()) return std::nullopt;
  const auto value = parse_non_negative(it->second);
  if (!value) bad_parameter(name, fmt::format("{} must be a non-negative integer", name));
  return value;
}

std::string require_project_access(pqxx::transaction_base& tx, const Uuid& project_id, Access need) {
  const auto role = project_role(tx, project_id);
  if (!role)
    throw DomainError(ErrorCode::not_found, "no such project", ErrorDetails().add("project_id", project_id).json());
  const int have = role_rank(*role);
  const int required = need == Access::read ? 0 : need == Access::write ? 1 : 2;
  if (have < required)
    throw DomainError(ErrorCode::forbidden,
                      fmt::format("role {} may not {} this project", *role, need == Access::manage ? "manage" : "change"),
                      ErrorDetails().add("project_id", project_id).add("role", *role).json());
  return *role;
}

Uuid require_task_access(pqxx::transaction_base& tx, const Uuid& task_id, Access need) {
  // Under row-level security: a task of a project the caller cannot see is simply not there.
  const auto r = events::exec_cached(tx, "SELECT project_id FROM readmodel.tasks WHERE id = $1", to_string(task_id));
  if (r.empty()) throw DomainError(ErrorCode::not_found, "no such task", ErrorDetails().add("task_id", task_id).json());
  const Uuid project_id = *parse_uuid(r[0][0].c_str());
  require_project_access(tx, project_id, need);
  return project_id;
}

void check_project_access(RequestContext& ctx, const Uuid& project_id, Access need) {
  read_as_user(ctx, [&](pqxx::transaction_base& tx) { return require_project_access(tx, project_id, need); });
}

Uuid check_task_access(RequestContext& ctx, const Uuid& task_id, Access need) {
  return read_as_user(ctx, [&](pqxx::transaction_base& tx) { return require_task_access(tx, task_id, need); });
}

void set_member(rapidjson::Document& doc, std::string_view key, std::string_view value) {
  auto& a = doc.GetAllocator();
  rapidjson::Value k(key.data(), static_cast<rapidjson::SizeType>(key.size()), a);
  rapidjson::Value v(value.data(), static_cast<rapidjson::SizeType>(value.size()), a);
  if (auto it = doc.FindMember(k); it != doc.MemberEnd())
    it->value = v;
  else
    doc.AddMember(k, v, a);
}

namespace {

// The body with the path's ids, parsed into the command (400/422 here), and who must be what.
struct CommandInput {
  Command command;
  Access need;
};

CommandInput command_input(std::string_view command_name, rapidjson::Document& body, const Uuid& caller,
                           std::initializer_list<std::pair<std::string_view, Uuid>> path_ids) {
  for (const auto& [key, id] : path_ids) set_member(body, key, to_string(id));
  return {parse_command(command_name, body), command_access(command_name, body, caller)};
}

}  // namespace

projections::CommandOutcome run_command(RequestContext& ctx, std::string_view command_name, rapidjson::Document& body,
                                        std::initializer_list<std::pair<std::string_view, Uuid>> path_ids,
                                        std::optional<std::int64_t> expected_version) {
  const CommandInput input = command_input(command_name, body, ctx.user().user_id, path_ids);
  return ctx.services.engine.execute(input.command, ctx.user().user_id, expected_version,
                                     member_check(ctx.user().user_id, input.need));
}

void run_command_async(RequestContext& ctx, Reply reply, std::string_view command_name, rapidjson::Document& body,
                       std::initializer_list<std::pair<std::string_view, Uuid>> path_ids, CommandAnswer answer,
                       std::optional<std::int64_t> expected_version) {
  const CommandInput input = command_input(command_name, body, ctx.user().user_id, path_ids);
  // `done` runs on the writer thread: it only hands the outcome over (Reply posts the maker).
  auto done = [reply = std::move(reply), answer = std::move(answer)](std::optional<projections::CommandOutcome> outcome,
                                                                     std::exception_ptr error) {
    if (!outcome) return reply.fail(error);  // the engine gives the one or the other
    auto committed = std::make_shared<const projections::CommandOutcome>(std::move(*outcome));
    reply.answer([committed, answer] { return answer(*committed); });
  };
  ctx.services.engine.async_execute(input.command, ctx.user().user_id, expected_version, std::move(done),
                                    member_check(ctx.user().user_id, input.need));
}

Access command_access(std::string_view command_name, const rapidjson::Document& body, const Uuid& caller) {
  if (command_name == "add_member" || command_name == "archive_project") return Access::manage;
  if (command_name == "remove_member") {
    const auto it = body.IsObject() ? body.FindMember("user_id") : body.MemberEnd();
    const bool self = it != body.MemberEnd() && it->value.IsString() &&
                      parse_uuid({it->value.GetString(), it->value.GetStringLength()}) == caller;
    return self ? Access::read : Access::manage;
  }
  if (command_name == "update_project" && body.IsObject() && body.HasMember("rules")) return Access::manage;
  return Access::write;
}

projections::Authorizer member_check(const Uuid& actor, Access need) {
  return [actor, need](const CommandContext& c) {
    if (!c.project) return;  // create_project, or an unknown project that decide() refuses as not_found
    const auto& members = c.project->members;
    const auto it = std::ranges::find_if(members, [&](const Member& m) { return m.user_id == actor; });
    // Not a member: exactly decide()'s answer for an id that does not exist, so that a foreign
    // task or project cannot be told from a missing one (and a task's project stays unnamed).
    if (it == members.end()) {
      if (c.task)
        throw DomainError(ErrorCode::not_found, fmt::format("task {} not found", to_string(c.task->id)),
                          ErrorDetails().add("task_id", c.task->id).json());
      throw DomainError(ErrorCode::not_found, fmt::format("project {} not found", to_string(c.project->id)),
                        ErrorDetails().add("project_id", c.project->id).json());
    }
    const std::string role(enum_name(it->role));
    const int required = need == Access::read ? 0 : need == Access::write ? 1 : 2;
    if (role_rank(role) < required)
      throw DomainError(ErrorCode::forbidden,
                        fmt::format("role {} may not {} this project", role, need == Access::manage ? "manage" : "change"),
                        ErrorDetails().add("project_id", c.project->id).add("role", role).json());
  };
}

std::optional<std::int64_t> parse_if_match(std::string_view text) {
  text = trim_ows(text);
  if (text == "*") return std::nullopt;  // any version (RFC 9110 13.1.1): the resource need only exist
  // If-Match compares strongly: a weak tag matches nothing, so W/"3" could only ever fail.
  if (text.starts_with("W/"))
    bad_parameter("If-Match", "If-Match compares strongly: send the ETag as it came (\"3\"), not a weak W/ tag");
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
  const auto version = parse_non_negative(text);
  if (!version) bad_parameter("If-Match", "If-Match must be the resource's version, e.g. If-Match: 3");
  return version;
}

std::optional<std::int64_t> if_match(const RequestContext& ctx) {
  const auto it = ctx.request.find(http::field::if_match);
  if (it == ctx.request.end()) return std::nullopt;
  return parse_if_match(std::string_view(it->value().data(), it->value().size()));
}

Response data_response(http::status status, const std::optional<std::string>& resource_json,
                       std::optional<std::int64_t> version) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("data");
  write_raw(w, resource_json);
  w.EndObject();
  Response response = json_response(status, std::string(buffer.GetString(), buffer.GetSize()));
  if (version) response.set(http::field::etag, fmt::format("\"{}\"", *version));
  return response;
}

Response command_response(http::status status, const std::optional<std::string>& resource_json,
                          const projections::CommandOutcome& outcome, const std::optional<std::string>& lease_json) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("data");
  write_raw(w, resource_json);
  if (lease_json) {
    w.Key("lease");
    write_raw(w, lease_json);
  }
  w.Key("position");
  w.Int64(outcome.append.last_position());
  w.Key("version");
  if (outcome.append.events.empty())
    w.Null();
  else
    w.Int64(outcome.append.events.back().version);
  w.EndObject();
  Response response = json_response(status, std::string(buffer.GetString(), buffer.GetSize()));
  if (!outcome.append.events.empty())
    response.set(http::field::etag, fmt::format("\"{}\"", outcome.append.events.back().version));
  return response;
}

Response list_response(const std::vector<std::string>& items_json, const std::optional<std::string>& next_cursor) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("data");
  w.StartArray();
  for (const auto& item : items_json) w.RawValue(item.data(), item.size(), rapidjson::kObjectType);
  w.EndArray();
  w.Key("next_cursor");
  if (next_cursor)
    w.String(next_cursor->data(), static_cast<rapidjson::SizeType>(next_cursor->size()));
  else
    w.Null();
  w.EndObject();
  return json_response(http::status::ok, std::string(buffer.GetString(), buffer.GetSize()));
}

std::string sql_ts(std::string_view column) {
  return fmt::format(R"(to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))", column);
}

std::string project_json_sql(std::string_view alias) {
  const std::string a(alias);
  return fmt::format(
      R"(json_build_object(
  'id', {a}.id, 'name', {a}.name, 'description', {a}.description, 'rules', {a}.rules, 'archived', {a}.archived,
  'version', {a}.version, 'created_by', {a}.created_by, 'created_at', {created}, 'updated_at', {updated},
  'archived_at', {archived},
  'role', (SELECT m.role FROM readmodel.project_members m
            WHERE m.project_id = {a}.id AND m.user_id = nullif(current_setting('tasklog.user_id', true), '')::uuid),
  'members', coalesce((SELECT json_agg(json_build_object('user_id', m.user_id, 'role', m.role, 'added_at', {added})
                                       ORDER BY m.ordinal)
                         FROM readmodel.project_members m WHERE m.project_id = {a}.id), '[]'::json)))",
      fmt::arg("a", a), fmt::arg("created", sql_ts(a + ".created_at")), fmt::arg("updated", sql_ts(a + ".updated_at")),
      fmt::arg("archived", sql_ts(a + ".archived_at")), fmt::arg("added", sql_ts("m.added_at")));
}

std::optional<std::string> load_project_json(pqxx::transaction_base& tx, const Uuid& project_id,
                                             std::int64_t* version) {
  static const std::string sql =
      fmt::format("SELECT {}::text, p.version FROM readmodel.projects p WHERE p.id = $1", project_json_sql());
  const auto r = events::exec_cached(tx, sql, to_string(project_id));
  if (r.empty()) return std::nullopt;
  if (version) *version = r[0][1].as<std::int64_t>();
  return r[0][0].as<std::string>();
}

std::optional<CreatedCursor> created_cursor(const RequestContext& ctx) {
  const auto it = ctx.query.find("cursor");
  if (it == ctx.query.end()) return std::nullopt;
  const std::string_view text = it->second;
  const auto split = text.find('_');
  const auto micros = split == std::string_view::npos ? std::nullopt : parse_non_negative(text.substr(0, split));
  const auto id = split == std::string_view::npos ? std::nullopt : parse_uuid(text.substr(split + 1));
  if (!micros || !id) bad_parameter("cursor", "cursor must be a next_cursor value of this list");
  return CreatedCursor{.micros = *micros, .id = *id};
}

std::string format_created_cursor(std::int64_t micros, std::string_view id) { return fmt::format("{}_{}", micros, id); }

CreatedCursorParams created_cursor_params(const std::optional<CreatedCursor>& cursor) {
  if (!cursor) return {};
  return {std::to_string(cursor->micros), to_string(cursor->id)};
}

namespace {
// The first `limit` rows' JSON, and the cursor of the last one kept when a further row exists.
template <class Item, class NextCursor>
Response page(const pqxx::result& rows, std::size_t limit, Item item, NextCursor next_cursor) {
  std::vector<std::string> items;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) items.push_back(item(rows[i]));
  std::optional<std::string> next;
  if (rows.size() > limit) next = next_cursor(rows[limit - 1]);
  return list_response(items, next);
}

std::string first_column(const pqxx::row& row) { return row[0].as<std::string>(); }
}  // namespace

Response creation_page(const pqxx::result& rows, std::size_t limit) {
  return page(rows, limit, first_column, [](const pqxx::row& last) {
    return format_created_cursor(last[1].as<std::int64_t>(), last[2].as<std::string>());
  });
}

Response task_page(const pqxx::result& rows, std::size_t limit) {
  return page(
      rows, limit, [](const pqxx::row& row) { return task_json(row); },
      [](const pqxx::row& last) {
        // task_columns_sql selects created_at as epoch microseconds: the cursor's own form.
        return format_created_cursor(last["created_at"].as<std::int64_t>(), last["id"].as<std::string>());
      });
}

Response position_page(const pqxx::result& rows, std::size_t limit) {
  return page(rows, limit, first_column, [](const pqxx::row& last) { return last[1].as<std::string>(); });
}

void query_uuid_into_body(const RequestContext& ctx, rapidjson::Document& body, std::string_view name) {
  const auto it = ctx.query.find(name);
  if (it == ctx.query.end()) return;
  if (!parse_uuid(it->second)) bad_parameter(name, fmt::format("{} must be a UUID", name));
  set_member(body, name, it->second);
}

std::int64_t position_cursor(const RequestContext& ctx) {
  if (auto cursor = int_query(ctx, "cursor")) return *cursor;
  return int_query(ctx, "after").value_or(0);
}

}  // namespace tasklog::api
