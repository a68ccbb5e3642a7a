// EventReader: the read side of the log, as a query object over a caller's transaction (the
// caller owns connections and chooses isolation). Every read is bounded and ordered by position.
#pragma once

#include "events/event.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <vector>

namespace tasklog::events {

class EventReader {
 public:
  explicit EventReader(pqxx::transaction_base& tx);

  // One stream from a version (inclusive), in version order.
  std::vector<RecordedEvent> stream(const Uuid& stream_id, std::int64_t from_version, std::size_t limit);
  // Everything after a position.
  std::vector<RecordedEvent> after(Position after, std::size_t limit);
  // A project's (or a task's) timeline after a position.
  std::vector<RecordedEvent> project_after(const Uuid& project_id, Position after, std::size_t limit);
  std::vector<RecordedEvent> task_after(const Uuid& task_id, Position after, std::size_t limit);
  // The same pages bounded in bytes as well: at most `limit` events, and events only while those
  // before them hold fewer than `max_bytes` of payload and metadata text (so at least one, however
  // large). PostgreSQL stops the page, so no more than that crosses to this process: a page of
  // 500 artifacts of 256 KiB each would be 128 MiB. `more`: the page stopped at a bound, not at the
  // end of the timeline.
  struct Page {
    std::vector<RecordedEvent> events;
    bool more = false;
  };
  Page project_page(const Uuid& project_id, Position after, std::size_t limit, std::size_t max_bytes);
  Page task_page(const Uuid& task_id, Position after, std::size_t limit, std::size_t max_bytes);
  // Events in (after, up_to], for replay up to a point.
  std::vector<RecordedEvent> range(Position after, Position up_to, std::size_t limit);
  // The last position, 0 for an empty log.
  Position head();
  // The cursor to read the last `count` events (of one project, or of the whole log) after.
  Position before_last(std::size_t count, const std::optional<Uuid>& project_id = std::nullopt);
  // The last position recorded at or before `t` (0 when none): recorded_at never goes backwards
  // along the log, so the state at time t is the prefix up to it.
  Position last_at_or_before(Timestamp t);

 private:
  std::vector<RecordedEvent> rows(const pqxx::result& r);
  Page page(const char* statement, const Uuid& id, Position after, std::size_t limit, std::size_t max_bytes);
  pqxx::transaction_base& tx_;
};

}  // namespace tasklog::events
