// project_context: the agents' hot path. A project's context (context_shape.hpp) read from the
// read models in ONE statement — one round trip, one snapshot — that builds the JSON in the
// database with json_agg subqueries over the indexed read-model tables.
//
// Thread-safety: a free function over the caller's transaction.
#pragma once

#include "projections/context_shape.hpp"
#include "projections/read_model_store.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <string_view>

namespace tasklog::projections {

// nullopt when the project does not exist (or the caller's role may not see it).
std::optional<ProjectContext> load_project_context(pqxx::transaction_base& tx, const Uuid& project_id,
                                                   const ContextOptions& options = {},
                                                   std::string_view schema = kReadSchema);

}  // namespace tasklog::projections
