// FoldReader: the log as a fold reads it — events in (after, up_to] by position, with only the
// columns the fold uses. event_id, metadata and the hashes are left out (the chain check reads
// them through events::EventReader): a third less work for the server per event, and no bytea
// to unescape here.
#pragma once

#include "events/event.hpp"

#include <pqxx/pqxx>

#include <vector>

namespace tasklog::projections {

class FoldReader {
 public:
  explicit FoldReader(pqxx::transaction_base& tx);

  // RecordedEvents with position, stream_id, stream_type, version, project_id, task_id, actor_id,
  // type, schema_version, payload and recorded_at set (the stream's columns for decode()'s check
  // against the payload); the other members stay empty.
  std::vector<events::RecordedEvent> range(events::Position after, events::Position up_to, std::size_t limit);

 private:
  pqxx::transaction_base& tx_;
};

}  // namespace tasklog::projections
