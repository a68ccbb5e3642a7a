#include "projections/fold.hpp"

#include "events/event_reader.hpp"
#include "projections/decoded_batches.hpp"
#include "projections/fold_reader.hpp"

#include <fmt/format.h>

#include <optional>
#include <vector>

namespace tasklog::projections {
namespace {

void fold_one(ProjectModel& model, const DecodedEvent& decoded, const FoldOptions& options) {
  evolve(model, decoded.event, decoded.meta);
  if (options.on_event) options.on_event(model, decoded);
}

}  // namespace

FoldError::FoldError(Position position, const std::string& what)
    : std::runtime_error(fmt::format("the event at position {} cannot be folded: {}", position, what)),
      position_(position) {}

DecodedEvent decode(const events::RecordedEvent& recorded) {
  DecodedEvent decoded;
  try {
    decoded = DecodedEvent{.event = decode_recorded(recorded), .meta = meta_of(recorded), .project_id = recorded.project_id};
  } catch (const std::exception& e) {
    throw FoldError(recorded.position, fmt::format("{} ({})", e.what(), recorded.type));
  }
  if (auto why = misplaced(recorded, decoded.event)) throw FoldError(recorded.position, *why);
  return decoded;
}

namespace {

// The loop both fold_log variants share: batches of decoded events in position order until
// next() has none.
template <class NextBatch>
FoldResult fold_batches(ProjectModels& models, Position after, Position up_to, const FoldOptions& options,
                        NextBatch next) {
  FoldResult result{.position = after, .events = 0};
  while (std::optional<std::vector<DecodedEvent>> batch = next()) {
    for (const DecodedEvent& decoded : *batch) {
      fold_one(models[decoded.project_id], decoded, options);
      result.position = decoded.meta.position;
      ++result.events;
    }
    if (options.progress) options.progress({result.position, up_to, result.events});
  }
  return result;
}

}  // namespace

FoldResult fold_log(pqxx::transaction_base& tx, ProjectModels& models, Position after, Position up_to,
                    const FoldOptions& options) {
  FoldReader reader(tx);
  Position cursor = after;
  return fold_batches(models, after, up_to, options, [&]() -> std::optional<std::vector<DecodedEvent>> {
    if (cursor >= up_to) return std::nullopt;
    const auto recorded = reader.range(cursor, up_to, options.batch);
    if (recorded.empty()) return std::nullopt;
    std::vector<DecodedEvent> decoded;
    decoded.reserve(recorded.size());
    for (const auto& e : recorded) decoded.push_back(decode(e));
    cursor = recorded.back().position;
    return decoded;
  });
}

FoldResult fold_log_prefetching(const std::string& conninfo, ProjectModels& models, Position after, Position up_to,
                                const FoldOptions& options) {
  DecodedBatches batches(conninfo, after, up_to, options.batch);
  return fold_batches(models, after, up_to, options, [&] { return batches.next(); });
}

FoldResult fold_project(pqxx::transaction_base& tx, const Uuid& project_id, ProjectModel& model, Position after,
                        Position up_to, const FoldOptions& options) {
  events::EventReader reader(tx);
  FoldResult result{.position = after, .events = 0};
  Position cursor = after;
  for (;;) {
    // project_after has no upper bound: a batch may run past up_to, which ends the fold.
    const auto batch = reader.project_after(project_id, cursor, options.batch);
    if (batch.empty()) break;
    for (const auto& recorded : batch) {
      if (recorded.position > up_to) {
        if (options.progress) options.progress({result.position, up_to, result.events});
        return result;
      }
      fold_one(model, decode(recorded), options);
      result.position = recorded.position;
      ++result.events;
    }
    cursor = batch.back().position;
    if (options.progress) options.progress({result.position, up_to, result.events});
    if (batch.size() < options.batch) break;
  }
  return result;
}

}  // namespace tasklog::projections
