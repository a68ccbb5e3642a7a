#include "events/chain.hpp"

#include "events/canonical.hpp"
#include "events/event_reader.hpp"

#include <fmt/format.h>

namespace tasklog::events {

ChainReport verify_chain(pqxx::transaction_base& tx, Position up_to, const std::function<void(Position)>& progress) {
  EventReader reader(tx);
  if (up_to == 0) up_to = reader.head();
  ChainReport report;
  Sha256Digest prev = kGenesisHash;
  Position expected = 1;
  constexpr std::size_t kBatch = 5000;
  while (expected <= up_to) {
    auto events = reader.range(expected - 1, up_to, kBatch);
    if (events.empty()) {
      report.ok = false;
      report.first_bad = expected;
      report.reason = fmt::format("position {} is missing", expected);
      return report;
    }
    for (auto& e : events) {
      auto fail = [&](std::string why) {
        report.ok = false;
        report.first_bad = e.position;
        report.reason = std::move(why);
        return report;
      };
      if (e.position != expected) return fail(fmt::format("position {} is missing (next row is {})", expected, e.position));
      if (e.prev_hash != prev) return fail(fmt::format("prev_hash at position {} does not match the hash before it", e.position));
      RecordedEvent canonical;
      try {
        canonical = canonicalized(e);
      } catch (const std::exception& ex) {
        return fail(fmt::format("position {} holds JSON that cannot be canonicalized: {}", e.position, ex.what()));
      }
      if (chain_hash(prev, canonical) != e.hash)
        return fail(fmt::format("the row at position {} was changed after it was appended (hash mismatch)", e.position));
      prev = e.hash;
      report.checked_up_to = e.position;
      report.head_hash = e.hash;
      ++expected;
    }
    if (progress) progress(report.checked_up_to);
  }
  return report;
}

}  // namespace tasklog::events
