#include "events/chain.hpp"

#include "core/time.hpp"
#include "events/canonical.hpp"
#include "events/event_reader.hpp"

#include <fmt/format.h>

namespace tasklog::events {

std::optional<ChainFault> ChainLinks::follow(const RecordedEvent& e) {
  using Kind = ChainFault::Kind;
  if (e.position != head_ + 1) {
    if (head_ == 0) return ChainFault{Kind::position, fmt::format("the log starts at position {}, not 1", e.position)};
    return ChainFault{Kind::position, fmt::format("position {} follows position {}: positions must be consecutive",
                                                  e.position, head_)};
  }
  if (e.prev_hash != head_hash_)
    return ChainFault{Kind::prev_hash, head_ == 0 ? "prev_hash of the first event is not 32 zero bytes"
                                                  : "prev_hash is not the hash of the event before it"};
  if (chain_hash(head_hash_, e) != e.hash) return ChainFault{Kind::hash, "the hash does not match the event's content"};
  if (head_ != 0 && e.recorded_at < recorded_at_)
    return ChainFault{Kind::time, fmt::format("recorded_at goes back from {} to {}: time never decreases along the log",
                                              format_timestamp(recorded_at_), format_timestamp(e.recorded_at))};
  std::int64_t& version = versions_[e.stream_id];
  if (e.version != version + 1)
    return ChainFault{Kind::version, fmt::format("stream {} goes from version {} to {}: versions must be consecutive",
                                                 to_string(e.stream_id), version, e.version)};
  version = e.version;
  head_ = e.position;
  head_hash_ = e.hash;
  recorded_at_ = e.recorded_at;
  return std::nullopt;
}

ChainReport verify_chain(pqxx::transaction_base& tx, Position up_to, const std::function<void(Position)>& progress) {
  EventReader reader(tx);
  if (up_to == 0) up_to = reader.head();
  ChainReport report;
  ChainLinks links;
  auto fail = [&](Position position, std::optional<ChainFault::Kind> kind, std::string why) {
    report.ok = false;
    report.checked_up_to = links.head();
    report.head_hash = links.head_hash();
    report.first_bad = position;
    report.kind = kind;
    report.reason = std::move(why);
    return report;
  };
  constexpr std::size_t kBatch = 5000;
  while (links.head() < up_to) {
    const auto events = reader.range(links.head(), up_to, kBatch);
    if (events.empty())
      return fail(links.head() + 1, std::nullopt, fmt::format("position {} is missing", links.head() + 1));
    for (const auto& e : events) {
      RecordedEvent canonical;
      try {
        canonical = canonicalized(e);
      } catch (const std::exception& ex) {
        return fail(e.position, std::nullopt,
                    fmt::format("position {} holds JSON that cannot be canonicalized: {}", e.position, ex.what()));
      }
      if (auto fault = links.follow(canonical)) {
        // A row's hash is only ever wrong because the row was changed: the table holds what was hashed.
        if (fault->kind == ChainFault::Kind::hash) fault->reason += ": the row was changed after it was appended";
        return fail(e.position, fault->kind, std::move(fault->reason));
      }
    }
    report.checked_up_to = links.head();
    report.head_hash = links.head_hash();
    if (progress) progress(report.checked_up_to);
  }
  return report;
}

}  // namespace tasklog::events
