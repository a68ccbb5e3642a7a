// A digest of the log: the position and hash of its head. Because every hash covers the one
// before it, an auditor who keeps a digest can later prove that nothing up to that position was
// rewritten — also by someone who recomputed the whole chain after a change (the hash at the
// digest's position would differ).
#pragma once

#include "events/event.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tasklog::events {

struct LogDigest {
  Position position = 0;   // 0 for an empty log
  Sha256Digest hash{};     // the hash at that position (32 zero bytes for an empty log)
  bool operator==(const LogDigest&) const = default;
};

// The head of the log as the transaction sees it.
LogDigest head_digest(pqxx::transaction_base& tx);

// {"position":N,"hash":"<64 hex>"}
std::string digest_json(const LogDigest& digest);
// Reads that object back (surrounding white space allowed); throws std::invalid_argument.
LogDigest parse_digest_json(std::string_view text);

// The line `tasklog export` ends with, after its last event line: {"end":<digest_json of that
// event>} ({"end":{"position":0,…}} when it wrote none). Every line of an export is whole, so a
// copy cut off at a line boundary reads like a shorter log; import requires this line, and that it
// names the last event it read. Of a whole export it is the digest of the head it was taken at.
std::string export_end_line(const LogDigest& last);
// The digest an end line holds, or nullopt for any other line (an event's); throws
// std::invalid_argument for an end line that is malformed.
std::optional<LogDigest> parse_export_end_line(std::string_view line);

// What differs between the log and the digest, or nullopt when the log's row at the digest's
// position still has that hash. Meaningful only after the chain up to there verified (verify
// does both in one snapshot): then an equal hash means an equal prefix.
std::optional<std::string> digest_finding(pqxx::transaction_base& tx, const LogDigest& digest);

}  // namespace tasklog::events
