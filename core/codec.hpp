// Event payloads as JSON: encode_event writes the `payload` column, decode_event reads it back.
// The type name and schema version go in their own columns (event_type_name(),
// event_schema_version()). Also the JSON form of any field-table value, for the rows' jsonb parts.
#pragma once

#include "core/domain_events.hpp"
#include "core/field_codec.hpp"
#include "core/json.hpp"

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace tasklog {

void encode_event(const DomainEvent& event, rapidjson::Value& payload, field_codec::Allocator& allocator);

// The payload as canonical JSON text (what the log hashes).
std::string encode_event(const DomainEvent& event);

// Throws DomainError(validation_failed) for an unknown type, a schema version newer than this
// binary knows, or a payload that does not fit the type (details name the JSON pointer path). An
// older schema version is read as the current one (see decode_older in codec.cpp); without a
// version, the payload is taken to be of the current one.
DomainEvent decode_event(std::string_view type, const rapidjson::Value& payload);
DomainEvent decode_event(std::string_view type, int schema_version, const rapidjson::Value& payload);
DomainEvent decode_event(std::string_view type, std::string_view payload_json);

// Compact JSON text of a field-table value, e.g. a TaskState's gate_results or lease.
template <class T>
std::string to_json_text(const T& value) {
  rapidjson::Document doc;
  field_codec::write(value, doc, doc.GetAllocator());
  return to_json(doc);
}

template <class T>
T from_json_value(const rapidjson::Value& json) {
  T value{};
  field_codec::read(json, value, "");
  return value;
}

}  // namespace tasklog
