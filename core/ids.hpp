// Identifiers: every entity, stream and event is named by a UUID (Boost.Uuid).
// Pure helpers only; generating fresh ids is the caller's business (see events/id_source.hpp),
// so that the domain stays deterministic under test.
#pragma once

#include <boost/uuid/uuid.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace tasklog {

using Uuid = boost::uuids::uuid;

// Canonical lower-case 8-4-4-4-12 text.
std::string to_string(const Uuid& id);

// Strict parse of the canonical form (with or without braces is NOT accepted): returns nullopt on
// anything else, so a bad id in a request is a validation error rather than an exception.
std::optional<Uuid> parse_uuid(std::string_view text);

// Name-based UUID (version 5) in tasklog's own namespace: derives stable ids, e.g. an event id
// from an idempotency key, so that a retried request maps onto the same event.
Uuid derived_uuid(std::string_view name);

inline constexpr Uuid nil_uuid() { return Uuid{}; }

}  // namespace tasklog
