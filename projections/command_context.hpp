// What decide() needs for a command (context_needs), read from the read models through the
// append transaction, so it includes the earlier commands of the same batch.
#pragma once

#include "core/decide.hpp"
#include "events/event_store.hpp"

#include <pqxx/pqxx>

#include <string_view>

namespace tasklog::projections {

// pick_next_task reads at most this many ready tasks, best first in its strategy's order
// (except the dependencies strategy, which ranks by the whole graph and reads them all).
inline constexpr std::size_t kPickCandidates = 16;

// Fills ctx's loaded parts for `command` through the append transaction; ctx.now must be set
// (readiness is judged at it). A task or project that does not exist is left empty: decide()
// refuses with not_found.
void load_command_context(events::AppendContext& append, std::string_view schema, const Command& command,
                          CommandContext& ctx);

// The version of `stream_id` as ctx loaded it (0 for a stream ctx does not hold: a new one).
std::int64_t loaded_version(const CommandContext& ctx, const Uuid& stream_id);

}  // namespace tasklog::projections
