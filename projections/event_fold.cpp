#include "projections/event_fold.hpp"

#include "core/codec.hpp"
#include "core/json.hpp"

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

void fold(ProjectModels& models, const DomainEvent& event, const EventMeta& meta) {
  evolve(models[route(event).project_id], event, meta);
}

void fold(ProjectModels& models, const events::RecordedEvent& event) {
  fold(models, decode_recorded(event), meta_of(event));
}

}  // namespace tasklog::projections
