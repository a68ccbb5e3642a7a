// time_travel: a project as it was at position P, folded in memory from the project's own events
// (the events_project_position index keeps the read proportional to the project). Nothing is
// read from the read models, so it also answers for positions long past.
#pragma once

#include "projections/context_shape.hpp"
#include "projections/fold.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <string_view>
#include <variant>

namespace tasklog::projections {

struct ProjectAt {
  ProjectModel model;     // every read-model row of the project as of the position
  Position position = 0;  // the project's last event at or before the requested position
};

// nullopt when the project has no event at or before `at`.
std::optional<ProjectAt> project_at(pqxx::transaction_base& tx, const Uuid& project_id, Position at);

// The project context (same shape and JSON as load_project_context) as of `at`.
std::optional<ProjectContext> project_context_at(pqxx::transaction_base& tx, const Uuid& project_id, Position at,
                                                 const ContextOptions& options = {});

// A point in the log as a person names it: a position, or an RFC 3339 time — the last event
// recorded at or before it (recorded_at never goes backwards along the log).
using LogPoint = std::variant<Position, Timestamp>;

// "1234" or "2026-11-22T08:00:00Z"; nullopt for anything else.
std::optional<LogPoint> parse_log_point(std::string_view text);

// The log position the point stands for (0: before the first event).
Position resolve_log_point(pqxx::transaction_base& tx, const LogPoint& point);

// The log's last position and the database's clock, read through `tx` — which must see the whole
// log (the owner's connection, not one under row-level security: a point may be any position of
// the log, such as the head a stream's caught_up names, not only one of the caller's events).
struct LogNow {
  Position head = 0;
  Timestamp now{};
};
LogNow log_now(pqxx::transaction_base& tx);

// Throws DomainError(validation_failed) naming the parameter `name` when the point lies beyond the
// log's history: a position after its head, or a time after now. The state "at" such a point would
// change as the log grows, so it is not a point of the history and would not be reproducible. (For
// times, best effort: a batch is stamped a moment before it commits — docs/audit.md.)
void require_in_history(const LogPoint& point, const LogNow& log, std::string_view name);

}  // namespace tasklog::projections
