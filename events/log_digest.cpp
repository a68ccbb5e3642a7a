#include "events/log_digest.hpp"

#include "core/json.hpp"
#include "events/canonical.hpp"
#include "events/event_reader.hpp"

#include <fmt/format.h>

namespace tasklog::events {

LogDigest head_digest(pqxx::transaction_base& tx) {
  EventReader reader(tx);
  const Position head = reader.head();
  if (head == 0) return {};
  const auto events = reader.range(head - 1, head, 1);
  if (events.empty()) throw std::runtime_error("the log's head row vanished inside one snapshot");
  return {.position = head, .hash = events.front().hash};
}

std::string digest_json(const LogDigest& digest) {
  return fmt::format(R"({{"position":{},"hash":"{}"}})", digest.position, to_hex(digest.hash));
}

namespace {

rapidjson::Document parsed(std::string_view text, std::string_view what) {
  rapidjson::Document doc;
  try {
    parse_json(text, doc);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("{}: {}", what, e.what()));
  }
  return doc;
}

LogDigest digest_of(const rapidjson::Value& value) {
  if (!value.IsObject()) throw std::invalid_argument("a digest is a JSON object {\"position\", \"hash\"}");
  const auto position = value.FindMember("position");
  if (position == value.MemberEnd() || !position->value.IsInt64() || position->value.GetInt64() < 0)
    throw std::invalid_argument("a digest needs \"position\": a non-negative integer");
  const auto hash = value.FindMember("hash");
  std::optional<Sha256Digest> digest;
  if (hash != value.MemberEnd() && hash->value.IsString())
    digest = digest_from_hex({hash->value.GetString(), hash->value.GetStringLength()});
  if (!digest) throw std::invalid_argument("a digest needs \"hash\": 64 hex digits");
  return {.position = position->value.GetInt64(), .hash = *digest};
}

constexpr std::string_view kEndLineStart = R"({"end":)";

}  // namespace

LogDigest parse_digest_json(std::string_view text) {
  return digest_of(parsed(text, "a digest is a JSON object {\"position\", \"hash\"}"));
}

std::string export_end_line(const LogDigest& last) {
  return std::string(kEndLineStart) + digest_json(last) + "}";
}

std::optional<LogDigest> parse_export_end_line(std::string_view line) {
  // Event lines start with {"position": (event_json.hpp), which keeps the test this cheap.
  if (!line.starts_with(kEndLineStart)) return std::nullopt;
  const rapidjson::Document doc = parsed(line, "the end line is {\"end\":{\"position\", \"hash\"}}");
  if (!doc.IsObject() || doc.MemberCount() != 1)
    throw std::invalid_argument("the end line is {\"end\":{\"position\", \"hash\"}} and nothing else");
  return digest_of(doc["end"]);
}

std::optional<std::string> digest_finding(pqxx::transaction_base& tx, const LogDigest& digest) {
  if (digest.position == 0) {
    if (digest.hash == kGenesisHash) return std::nullopt;
    return "the digest is of position 0 but its hash is not the empty log's";
  }
  const auto events = EventReader(tx).range(digest.position - 1, digest.position, 1);
  if (events.empty() || events.front().position != digest.position)
    return fmt::format("the log has no position {} any more: events were removed since the digest was taken",
                       digest.position);
  if (events.front().hash != digest.hash)
    return fmt::format("the hash at position {} is {}, the digest says {}: the log up to position {} was rewritten "
                       "since the digest was taken",
                       digest.position, to_hex(events.front().hash), to_hex(digest.hash), digest.position);
  return std::nullopt;
}

}  // namespace tasklog::events
