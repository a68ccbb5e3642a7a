// Time in the domain: one timestamp type with microsecond precision (what PostgreSQL's timestamptz
// keeps), and its one text form. The domain never reads a clock; `now` is always an argument.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tasklog {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// RFC 3339 in UTC with exactly six fraction digits, e.g. "2024-05-01T12:00:00.250000Z", so that
// equal instants always have equal text (event payloads are hashed).
std::string format_timestamp(Timestamp t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)"; nullopt on anything else.
std::optional<Timestamp> parse_timestamp(std::string_view text);

}  // namespace tasklog
