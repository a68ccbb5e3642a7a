// JSON helpers over RapidJSON: parsing with limits, and the canonical form that the hash chain
// and idempotency comparisons rely on.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>

namespace tasklog {

struct JsonLimits {
  std::size_t max_depth = 64;
  std::size_t max_string_bytes = 1 << 20;
};

// Parses text into doc. Throws DomainError(malformed_json) with the offset on bad syntax and
// DomainError(validation_failed) when a limit is exceeded or a string holds U+0000 (PostgreSQL's
// jsonb cannot store it, so accepting it would fail later, at append time).
void parse_json(std::string_view text, rapidjson::Document& doc, const JsonLimits& limits = {});

// Canonical JSON: object keys sorted by their UTF-8 bytes, a duplicated key keeps its last value
// (as jsonb does), no insignificant white space, numbers in RapidJSON's shortest round-trip form,
// -0 written as 0. canonical(parse(canonical(x))) == canonical(x), and the text PostgreSQL returns
// for a jsonb column canonicalizes to the same bytes as what was inserted — which is what lets
// `verify` recompute a hash from the stored row.
std::string canonical_json(const rapidjson::Value& value);
std::string canonical_json(std::string_view text);

// The JSON Pointer of the first object member whose key appears twice in its object (depth
// first), if any. A request body refuses such keys: which value counts would otherwise depend on
// the reader (the command decoder takes the first, canonical_json and jsonb the last).
std::optional<std::string> first_duplicate_key(const rapidjson::Value& value);

// Plain (non-canonical) compact serialization.
std::string to_json(const rapidjson::Value& value);

// Whether the bytes are well-formed UTF-8 (RapidJSON's validator; no surrogates, no overlongs).
bool is_utf8(std::string_view bytes);

}  // namespace tasklog
