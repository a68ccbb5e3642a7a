// The log's chain: the rules that tie each event to the events before it, and their check over the
// stored rows (verify_chain). Import checks an export's lines with the same rules (ChainLinks), so
// the two refuse the same logs.
#pragma once

#include "events/canonical.hpp"
#include "events/event.hpp"

#include <boost/functional/hash.hpp>
#include <pqxx/pqxx>

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

namespace tasklog::events {

// Why an event cannot follow the events before it.
struct ChainFault {
  enum class Kind {
    position,   // not the position after the head (the first event's is 1)
    prev_hash,  // not the head's hash (32 zero bytes for the first event)
    hash,       // not SHA-256(prev_hash || canonical bytes): the event changed after it was hashed
    time,       // recorded_at before the head's
    version,    // not its stream's next version
  };
  Kind kind;
  std::string reason;
};

// The events of a log in position order from the first, each checked against the ones before it:
// consecutive positions, prev_hash the hash before, hash = SHA-256(prev_hash || canonical bytes),
// recorded_at never before the event before's, each stream's versions 1, 2, 3 … The writer keeps
// every one of these; time travel relies on the time rule (the state at a time is a prefix of the
// log), which a log re-hashed after its times were moved back passes every hash rule without.
class ChainLinks {
 public:
  // nullopt when `event` (canonical: canonicalized() for a stored row) follows the head; it is
  // then the head. Otherwise why not, and the head stays.
  std::optional<ChainFault> follow(const RecordedEvent& event);

  Position head() const noexcept { return head_; }
  const Sha256Digest& head_hash() const noexcept { return head_hash_; }

 private:
  Position head_ = 0;
  Sha256Digest head_hash_ = kGenesisHash;
  Timestamp recorded_at_{};
  std::unordered_map<Uuid, std::int64_t, boost::hash<Uuid>> versions_;  // stream -> last version
};

struct ChainReport {
  bool ok = true;
  Position checked_up_to = 0;         // last position verified
  Sha256Digest head_hash{};           // hash at checked_up_to
  std::optional<Position> first_bad;  // first position whose row does not match the chain
  std::optional<ChainFault::Kind> kind;  // which rule it breaks (none: the row is missing or unreadable)
  std::string reason;                 // what is wrong there
};

// Walks the log in batches from the first event up to `up_to` (inclusive; 0 = the head) with
// ChainLinks and stops at the first row that breaks a rule. progress(position) is called after
// every batch.
ChainReport verify_chain(pqxx::transaction_base& tx, Position up_to = 0,
                         const std::function<void(Position)>& progress = {});

}  // namespace tasklog::events
