// How an events row is selected and turned into a RecordedEvent; shared by every reader.
#pragma once

#include "events/event.hpp"

#include <pqxx/pqxx>

namespace tasklog::events {

// Select list matching event_from_row(). recorded_at travels as integer microseconds so that
// nothing is lost or re-rounded on the way (the hash covers it).
inline constexpr const char* kEventColumns =
    "position, event_id, stream_id, stream_type, version, project_id, task_id, actor_id, type, "
    "schema_version, payload::text, metadata::text, "
    "(extract(epoch FROM recorded_at) * 1000000)::bigint, prev_hash, hash";

RecordedEvent event_from_row(const pqxx::row& row);

}  // namespace tasklog::events
