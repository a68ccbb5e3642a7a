// Verification of the hash chain: recompute every hash from the stored rows and compare.
#pragma once

#include "events/event.hpp"

#include <pqxx/pqxx>

#include <functional>
#include <optional>
#include <string>

namespace tasklog::events {

struct ChainReport {
  bool ok = true;
  Position checked_up_to = 0;         // last position verified
  Sha256Digest head_hash{};           // hash at checked_up_to
  std::optional<Position> first_bad;  // first position whose row does not match the chain
  std::string reason;                 // what is wrong there
};

// Walks the log in batches from the first event up to `up_to` (inclusive; 0 = the head) and
// checks positions are 1..n without gaps, each prev_hash equals the previous hash, and each hash
// equals SHA-256(prev_hash || canonical bytes of the row). progress(position) is called after
// every batch.
ChainReport verify_chain(pqxx::transaction_base& tx, Position up_to = 0,
                         const std::function<void(Position)>& progress = {});

}  // namespace tasklog::events
