#include "events/event_json.hpp"

#include "core/json.hpp"
#include "events/canonical.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace tasklog::events {
namespace {

// One statement and one parse for any number of rows.
constexpr const char* kInsertPrefix =
    "INSERT INTO events (position, event_id, stream_id, stream_type, version, project_id, task_id, actor_id, type, "
    "schema_version, payload, metadata, recorded_at, prev_hash, hash) "
    "SELECT position, event_id, stream_id, stream_type, version, project_id, task_id, actor_id, type, schema_version, "
    "payload, metadata, 'epoch'::timestamptz + recorded_us * interval '1 microsecond', decode(prev_hash, 'hex'), "
    "decode(hash, 'hex') FROM jsonb_to_recordset(";
constexpr const char* kInsertSuffix =
    "::jsonb) AS x(position bigint, event_id uuid, stream_id uuid, stream_type text, version int, project_id uuid, "
    "task_id uuid, actor_id uuid, type text, schema_version smallint, payload jsonb, metadata jsonb, "
    "recorded_us bigint, prev_hash text, hash text)";

constexpr std::array<std::string_view, 15> kMembers = {
    "position", "event_id", "stream_id",      "stream_type", "version",  "project_id",  "task_id", "actor_id",
    "type",     "schema_version", "payload", "metadata",    "recorded_us", "prev_hash", "hash"};

const rapidjson::Value& member(const rapidjson::Value& object, std::string_view name) {
  const auto it = object.FindMember(rapidjson::StringRef(name.data(), name.size()));
  if (it == object.MemberEnd()) throw EventJsonError(fmt::format("member \"{}\" is missing", name));
  return it->value;
}

std::int64_t int_member(const rapidjson::Value& object, std::string_view name) {
  const auto& v = member(object, name);
  if (!v.IsInt64()) throw EventJsonError(fmt::format("member \"{}\" must be an integer", name));
  return v.GetInt64();
}

std::string string_member(const rapidjson::Value& object, std::string_view name) {
  const auto& v = member(object, name);
  if (!v.IsString()) throw EventJsonError(fmt::format("member \"{}\" must be a string", name));
  return {v.GetString(), v.GetStringLength()};
}

Uuid uuid_member(const rapidjson::Value& object, std::string_view name) {
  const auto id = parse_uuid(string_member(object, name));
  if (!id) throw EventJsonError(fmt::format("member \"{}\" must be a UUID", name));
  return *id;
}

Sha256Digest digest_member(const rapidjson::Value& object, std::string_view name) {
  const auto digest = digest_from_hex(string_member(object, name));
  if (!digest) throw EventJsonError(fmt::format("member \"{}\" must be 64 hex digits", name));
  return *digest;
}

std::string object_member(const rapidjson::Value& object, std::string_view name) {
  const auto& v = member(object, name);
  if (!v.IsObject()) throw EventJsonError(fmt::format("member \"{}\" must be a JSON object", name));
  return canonical_json(v);
}

}  // namespace

void write_event_json(rapidjson::Writer<rapidjson::StringBuffer>& w, const RecordedEvent& e) {
  w.StartObject();
  w.Key("position"); w.Int64(e.position);
  w.Key("event_id"); w.String(to_string(e.event_id));
  w.Key("stream_id"); w.String(to_string(e.stream_id));
  w.Key("stream_type"); w.String(e.stream_type);
  w.Key("version"); w.Int64(e.version);
  w.Key("project_id"); w.String(to_string(e.project_id));
  w.Key("task_id");
  if (e.task_id) w.String(to_string(*e.task_id)); else w.Null();
  w.Key("actor_id"); w.String(to_string(e.actor_id));
  w.Key("type"); w.String(e.type);
  w.Key("schema_version"); w.Int(e.schema_version);
  w.Key("payload"); w.RawValue(e.payload.data(), e.payload.size(), rapidjson::kObjectType);
  w.Key("metadata"); w.RawValue(e.metadata.data(), e.metadata.size(), rapidjson::kObjectType);
  w.Key("recorded_us"); w.Int64(e.recorded_at.time_since_epoch().count());
  w.Key("prev_hash"); w.String(to_hex(e.prev_hash));
  w.Key("hash"); w.String(to_hex(e.hash));
  w.EndObject();
}

std::string event_json_line(const RecordedEvent& event) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  write_event_json(w, canonicalized(event));
  return {buf.GetString(), buf.GetSize()};
}

RecordedEvent parse_event_json_line(std::string_view line) {
  rapidjson::Document doc;
  try {
    parse_json(line, doc);
  } catch (const std::exception& e) {
    throw EventJsonError(fmt::format("not JSON: {}", e.what()));
  }
  if (!doc.IsObject()) throw EventJsonError("not a JSON object");
  for (const auto& m : doc.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (std::find(kMembers.begin(), kMembers.end(), name) == kMembers.end())
      throw EventJsonError(fmt::format("unknown member \"{}\"", name));
  }
  RecordedEvent e;
  e.position = int_member(doc, "position");
  e.event_id = uuid_member(doc, "event_id");
  e.stream_id = uuid_member(doc, "stream_id");
  e.stream_type = string_member(doc, "stream_type");
  e.version = int_member(doc, "version");
  e.project_id = uuid_member(doc, "project_id");
  if (!member(doc, "task_id").IsNull()) e.task_id = uuid_member(doc, "task_id");
  e.actor_id = uuid_member(doc, "actor_id");
  e.type = string_member(doc, "type");
  const std::int64_t schema_version = int_member(doc, "schema_version");
  if (schema_version < 0 || schema_version > 32767) throw EventJsonError("member \"schema_version\" is out of range");
  e.schema_version = static_cast<std::int16_t>(schema_version);
  e.payload = object_member(doc, "payload");
  e.metadata = object_member(doc, "metadata");
  e.recorded_at = Timestamp(std::chrono::microseconds(int_member(doc, "recorded_us")));
  e.prev_hash = digest_member(doc, "prev_hash");
  e.hash = digest_member(doc, "hash");
  return e;
}

std::string insert_events_statement() { return std::string(kInsertPrefix) + "$1" + kInsertSuffix; }

std::string insert_events_sql(pqxx::transaction_base& tx, std::string_view rows_json) {
  std::string sql = kInsertPrefix;
  // esc() + our own quotes rather than quote(): GCC 12 at -O3 raises a false -Wrestrict inside
  // pqxx's inlined quote().
  sql.push_back('\'');
  sql.append(tx.esc(rows_json.data(), rows_json.size()));
  sql.push_back('\'');
  sql += kInsertSuffix;
  return sql;
}

}  // namespace tasklog::events
