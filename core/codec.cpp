#include "core/codec.hpp"

#include "core/error.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"

#include <fmt/format.h>

#include <utility>

namespace tasklog {
namespace field_codec {

void fail(const std::string& path, std::string_view expected) {
  const std::string where = path.empty() ? "the document" : path;
  throw DomainError(ErrorCode::validation_failed, fmt::format("{} must be {}", where, expected),
                    ErrorDetails{}.add("path", path).add("expected", expected).json());
}

}  // namespace field_codec

namespace {

template <std::size_t... I>
DomainEvent decode_alternative(std::string_view type, int schema_version, const rapidjson::Value& payload,
                               std::index_sequence<I...>) {
  std::optional<DomainEvent> result;
  int known_version = 0;
  // Tries each alternative's type name in turn; at most one matches.
  ((std::variant_alternative_t<I, DomainEvent>::type_name == type
        ? (known_version = std::variant_alternative_t<I, DomainEvent>::schema_version,
           schema_version <= known_version
               ? (void)(result = from_json_value<std::variant_alternative_t<I, DomainEvent>>(payload))
               : (void)0)
        : (void)0),
   ...);
  if (known_version == 0)
    throw DomainError(ErrorCode::validation_failed, fmt::format("unknown event type '{}'", type),
                      ErrorDetails{}.add("type", type).json());
  if (!result)
    throw DomainError(ErrorCode::validation_failed,
                      fmt::format("event type '{}' schema version {} is newer than this binary knows ({})", type,
                                  schema_version, known_version),
                      ErrorDetails{}.add("type", type).add("schema_version", schema_version).json());
  return std::move(*result);
}

}  // namespace

void encode_event(const DomainEvent& event, rapidjson::Value& payload, field_codec::Allocator& allocator) {
  std::visit([&](const auto& e) { field_codec::write(e, payload, allocator); }, event);
}

std::string encode_event(const DomainEvent& event) {
  rapidjson::Document doc;
  encode_event(event, doc, doc.GetAllocator());
  return canonical_json(doc);
}

DomainEvent decode_event(std::string_view type, int schema_version, const rapidjson::Value& payload) {
  return decode_alternative(type, schema_version, payload, std::make_index_sequence<std::variant_size_v<DomainEvent>>{});
}

DomainEvent decode_event(std::string_view type, const rapidjson::Value& payload) {
  return decode_event(type, 1, payload);
}

DomainEvent decode_event(std::string_view type, std::string_view payload_json) {
  rapidjson::Document doc;
  parse_json(payload_json, doc, JsonLimits{.max_depth = 64, .max_string_bytes = std::size_t{1} << 24});
  return decode_event(type, 1, doc);
}

}  // namespace tasklog
