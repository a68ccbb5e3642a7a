#include "projections/time_travel.hpp"

#include "core/error.hpp"
#include "core/error_details.hpp"
#include "events/event_reader.hpp"

#include <fmt/format.h>

#include <charconv>

namespace tasklog::projections {

std::optional<ProjectAt> project_at(pqxx::transaction_base& tx, const Uuid& project_id, Position at) {
  ProjectAt result;
  const FoldResult folded = fold_project(tx, project_id, result.model, 0, at);
  if (folded.events == 0) return std::nullopt;
  result.position = folded.position;
  return result;
}

std::optional<ProjectContext> project_context_at(pqxx::transaction_base& tx, const Uuid& project_id, Position at,
                                                 const ContextOptions& options) {
  const auto project = project_at(tx, project_id, at);
  if (!project) return std::nullopt;
  const auto view = context_view(project->model, project->position, options);
  if (!view) return std::nullopt;
  return ProjectContext{.json = context_json(*view), .position = project->position};
}

std::optional<LogPoint> parse_log_point(std::string_view text) {
  Position position = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), position);
  if (!text.empty() && error == std::errc() && end == text.data() + text.size() && position >= 0) return position;
  if (const auto t = parse_timestamp(text)) return *t;
  return std::nullopt;
}

Position resolve_log_point(pqxx::transaction_base& tx, const LogPoint& point) {
  if (const auto* position = std::get_if<Position>(&point)) return *position;
  return events::EventReader(tx).last_at_or_before(std::get<Timestamp>(point));
}

LogNow log_now(pqxx::transaction_base& tx) {
  const auto row = tx.exec(
      "SELECT coalesce(max(position), 0), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM events")[0];
  return LogNow{.head = row[0].as<Position>(), .now = Timestamp(std::chrono::microseconds(row[1].as<std::int64_t>()))};
}

void require_in_history(const LogPoint& point, const LogNow& log, std::string_view name) {
  const auto refuse = [&](std::string message) {
    throw DomainError(ErrorCode::validation_failed, std::move(message),
                      ErrorDetails().add("parameter", name).add("keyword", "range").add("head", log.head).json());
  };
  if (const auto* position = std::get_if<Position>(&point)) {
    if (*position > log.head)
      refuse(fmt::format("{} ({}) is beyond the log's last position ({})", name, *position, log.head));
  } else if (std::get<Timestamp>(point) > log.now) {
    refuse(fmt::format("{} ({}) is in the future (now: {})", name, format_timestamp(std::get<Timestamp>(point)),
                       format_timestamp(log.now)));
  }
}

}  // namespace tasklog::projections
