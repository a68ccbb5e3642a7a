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

// Schema version 1 of the lease events carried the holder's token as "lease_token"; version 2
// carries only its fingerprint as "lease_id" (core/task.hpp lease_id_of). The log is never
// rewritten (its hash chain covers the old payloads), so a version-1 token stays readable by every
// member: it is read as the lease's id as it is. No token fingerprints to it, so a lease taken
// before the upgrade answers to no token at all — its holder gets lease_lost, and the reaper
// expires it as any other (it names leases by their ids) — instead of to one anybody can read.
template <class E>
E decode_older(const rapidjson::Value& payload, int schema_version) {
  if constexpr (requires(const E& e) { e.lease_id; }) {  // the lease events
    if (schema_version < 2 && payload.IsObject() && payload.HasMember("lease_token")) {
      rapidjson::Document upgraded;
      upgraded.CopyFrom(payload, upgraded.GetAllocator());
      auto token = upgraded.FindMember("lease_token");
      if (!token->value.IsString() ||
          !parse_uuid(std::string_view(token->value.GetString(), token->value.GetStringLength())))
        field_codec::fail("/lease_token", "a UUID string");
      token->name.SetString("lease_id", upgraded.GetAllocator());  // burnt: a public id now, never a proof
      return from_json_value<E>(upgraded);
    }
  }
  return from_json_value<E>(payload);
}

// schema_version 0: the type's current version (a payload this binary encoded).
template <std::size_t... I>
DomainEvent decode_alternative(std::string_view type, int schema_version, const rapidjson::Value& payload,
                               std::index_sequence<I...>) {
  std::optional<DomainEvent> result;
  int known_version = 0;
  // Tries each alternative's type name in turn; at most one matches.
  auto try_one = [&]<class E>(std::type_identity<E>) {
    if (E::type_name != type) return;
    known_version = E::schema_version;
    if (schema_version == 0 || schema_version == known_version)
      result = from_json_value<E>(payload);
    else if (schema_version < known_version)
      result = decode_older<E>(payload, schema_version);
  };
  (try_one(std::type_identity<std::variant_alternative_t<I, DomainEvent>>{}), ...);
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
  return decode_event(type, 0, payload);
}

DomainEvent decode_event(std::string_view type, std::string_view payload_json) {
  rapidjson::Document doc;
  parse_json(payload_json, doc, JsonLimits{.max_depth = 64, .max_string_bytes = std::size_t{1} << 24});
  return decode_event(type, 1, doc);
}

}  // namespace tasklog
