// An event as one JSON object holding every column of its row: the rows of the append's INSERT
// (read by jsonb_to_recordset) and the lines of `tasklog export` / `tasklog import` (NDJSON) are
// the same text, so what an export holds is exactly what the log stores.
//
//   {"position":1,"event_id":"…","stream_id":"…","stream_type":"project","version":1,
//    "project_id":"…","task_id":null,"actor_id":"…","type":"ProjectCreated","schema_version":1,
//    "payload":{…},"metadata":{…},"recorded_us":1732000000000000,"prev_hash":"<64 hex>","hash":"<64 hex>"}
//
// recorded_us is microseconds since 1970-01-01 UTC: the hash covers that integer, so it travels
// as one (no text form to re-round).
#pragma once

#include "events/event.hpp"

#include <pqxx/pqxx>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace tasklog::events {

// Writes the object; payload and metadata are written as they are (they must be JSON objects).
void write_event_json(rapidjson::Writer<rapidjson::StringBuffer>& writer, const RecordedEvent& event);

// The object as one line of text (no newline), payload and metadata canonical.
std::string event_json_line(const RecordedEvent& event);

// A line that is not such an object; the message names the member at fault.
class EventJsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads one line back: every member required (task_id may be null), nothing else allowed;
// payload and metadata come back canonical, so chain_hash() can be computed on the result.
RecordedEvent parse_event_json_line(std::string_view line);

// INSERT INTO events … of the rows in `rows_json`, a JSON array of write_event_json objects.
std::string insert_events_sql(pqxx::transaction_base& tx, std::string_view rows_json);
// The same INSERT with the rows as parameter $1 (jsonb): what the EventStore's writer prepares.
std::string insert_events_statement();

}  // namespace tasklog::events
