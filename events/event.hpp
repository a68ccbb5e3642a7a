// Value types of the event log: what a caller appends (NewEvent, StreamAppend) and what the log
// holds (RecordedEvent). The log never interprets payloads; they are JSON object texts.
#pragma once

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/sha256.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::events {

using Position = std::int64_t;  // global, gapless, 1-based; 0 means "before the first event"
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// What the writer requires of a stream before appending to it.
struct ExpectedVersion {
  enum class Kind { any, no_stream, exact };
  Kind kind = Kind::any;
  std::int64_t version = 0;  // only for exact

  static ExpectedVersion any() { return {}; }
  static ExpectedVersion no_stream() { return {Kind::no_stream, 0}; }
  static ExpectedVersion exact(std::int64_t v) { return {Kind::exact, v}; }
  bool operator==(const ExpectedVersion&) const = default;
};

struct NewEvent {
  Uuid event_id{};                 // client-suppliable; an append is idempotent by it
  std::string type{};              // e.g. "TaskClaimed"
  std::int16_t schema_version = 1;
  std::string payload = "{}";    // JSON object text
  std::string metadata = "{}";   // JSON object text: correlation, causation, idempotency key, agent
  Uuid project_id{};
  std::optional<Uuid> task_id{};
  Uuid actor_id{};
};

// The events of one stream within one command, with the stream's required version.
struct StreamAppend {
  Uuid stream_id{};
  std::string stream_type{};
  ExpectedVersion expected;
  std::vector<NewEvent> events{};
};

struct RecordedEvent {
  Position position = 0;
  Uuid event_id{};
  Uuid stream_id{};
  std::string stream_type{};
  std::int64_t version = 0;
  Uuid project_id{};
  std::optional<Uuid> task_id{};
  Uuid actor_id{};
  std::string type{};
  std::int16_t schema_version = 1;
  std::string payload{};   // JSON text; canonical when produced by append, jsonb's form when read back
  std::string metadata{};  // likewise
  Timestamp recorded_at{};
  Sha256Digest prev_hash{};
  Sha256Digest hash{};
};

struct AppendResult {
  std::vector<RecordedEvent> events{};  // in position order
  bool replayed = false;              // true when every event_id was already stored (idempotent retry)

  Position last_position() const { return events.empty() ? 0 : events.back().position; }
};

// A stream's version did not match; carries what it is now so the caller can reload and retry.
class VersionConflict : public DomainError {
 public:
  VersionConflict(const Uuid& stream_id, ExpectedVersion expected, std::int64_t current);
  const Uuid& stream_id() const noexcept { return stream_id_; }
  std::int64_t current_version() const noexcept { return current_; }

 private:
  Uuid stream_id_{};
  std::int64_t current_{};
};

}  // namespace tasklog::events
