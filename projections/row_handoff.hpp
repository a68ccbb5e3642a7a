// The decider's rows, handed to the inline projector. The engine's decider has just read, in the
// append transaction, the row of the stream its command writes; the projector would read the same
// row again a moment later to fold the command's events into it. Handing it over saves that read
// (a round trip per command under the append lock).
//
// An entry is keyed by the command's first event id. Event ids are fresh for every run of a
// decider, so an entry can only meet the events decided from it: a batch that is retried decides
// again, with new ids. The projector still checks that the row's version is the one just before
// the event's, and reads the row itself when there is no entry.
//
// Thread-safety: all members may be called from any thread.
#pragma once

#include "core/ids.hpp"
#include "core/project.hpp"
#include "core/task.hpp"

#include <mutex>
#include <optional>
#include <unordered_map>
#include <variant>

namespace tasklog::projections {

using HandedRow = std::variant<ProjectState, TaskState>;

class RowHandoff {
 public:
  // The one shared by every engine and projector of the process (keys are random ids).
  static RowHandoff& instance();

  void put(const Uuid& first_event_id, HandedRow row);
  std::optional<HandedRow> take(const Uuid& first_event_id);
  // For commands whose events never reached the projector (refused, failed).
  void drop(const Uuid& first_event_id);
  std::size_t size() const;

 private:
  struct Hash {
    std::size_t operator()(const Uuid& id) const noexcept;
  };
  mutable std::mutex mutex_;
  std::unordered_map<Uuid, HandedRow, Hash> rows_;
};

}  // namespace tasklog::projections
