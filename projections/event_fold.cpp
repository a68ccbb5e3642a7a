#include "projections/event_fold.hpp"

#include "core/codec.hpp"
#include "core/json.hpp"

#include <fmt/format.h>

namespace tasklog::projections {

DomainEvent decode_recorded(const events::RecordedEvent& event) {
  rapidjson::Document payload;
  // The log checked the payload when it was appended; only the depth limit still applies.
  parse_json(event.payload, payload, JsonLimits{.max_depth = 256, .max_string_bytes = event.payload.size()});
  return decode_event(event.type, event.schema_version, payload);
}

EventMeta meta_of(const events::RecordedEvent& event) {
  return EventMeta{event.position, event.version, event.actor_id, event.recorded_at};
}

std::optional<std::string> misplaced(const events::RecordedEvent& recorded, const DomainEvent& event) {
  const EventRoute where = route(event);
  auto differs = [](std::string_view column, std::string_view stored, std::string_view payload) {
    return fmt::format("its columns disagree with its payload: {} is {}, the payload's {}", column, stored, payload);
  };
  auto text = [](const std::optional<Uuid>& id) { return id ? to_string(*id) : std::string("null"); };
  if (where.stream_id != recorded.stream_id)
    return differs("stream_id", to_string(recorded.stream_id), to_string(where.stream_id));
  if (stream_type_name(where.stream_type) != recorded.stream_type)
    return differs("stream_type", recorded.stream_type, stream_type_name(where.stream_type));
  if (where.project_id != recorded.project_id)
    return differs("project_id", to_string(recorded.project_id), to_string(where.project_id));
  if (where.task_id != recorded.task_id) return differs("task_id", text(recorded.task_id), text(where.task_id));
  return std::nullopt;
}

void fold(ProjectModels& models, const DomainEvent& event, const EventMeta& meta) {
  evolve(models[route(event).project_id], event, meta);
}

void fold(ProjectModels& models, const events::RecordedEvent& event) {
  fold(models, decode_recorded(event), meta_of(event));
}

}  // namespace tasklog::projections
