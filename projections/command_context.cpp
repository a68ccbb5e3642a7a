#include "projections/command_context.hpp"

#include "projections/read_model_store.hpp"

#include <set>

namespace tasklog::projections {
namespace {

// Claims only judge readiness, which looks at a task's own dependencies (open_dependencies), so
// for them the graph needs just those nodes: the hot path then costs the same in a project of
// ten tasks or ten thousand. The dependencies strategy ranks by everything that waits on a task
// and gets the whole graph, as does every other command that needs one (cycles, snapshots).
std::optional<std::vector<Uuid>> readiness_nodes(const Command& command, const CommandContext& ctx) {
  std::set<Uuid> nodes;
  if (std::holds_alternative<ClaimTask>(command)) {
    if (ctx.task) nodes.insert(ctx.task->dependencies.begin(), ctx.task->dependencies.end());
  } else if (const auto* pick = std::get_if<PickNextTask>(&command); pick && pick->strategy != PickStrategy::dependencies) {
    for (const TaskState& t : ctx.candidates) nodes.insert(t.dependencies.begin(), t.dependencies.end());
  } else {
    return std::nullopt;
  }
  return std::vector<Uuid>(nodes.begin(), nodes.end());
}

}  // namespace

void load_command_context(pqxx::transaction_base& tx, std::string_view schema, const Command& command,
                          CommandContext& ctx) {
  const ContextNeeds needs = context_needs(command);
  std::optional<Uuid> project_id = needs.project_id;
  if (needs.task_id) {
    ctx.task = load_task(tx, *needs.task_id, schema);
    project_id = ctx.task ? std::optional(ctx.task->project_id) : std::nullopt;
  }
  if (!project_id) return;
  ctx.project = load_project(tx, *project_id, schema);
  if (!ctx.project) return;
  if (needs.candidates) {
    const auto* pick = std::get_if<PickNextTask>(&command);
    const PickStrategy strategy = pick ? pick->strategy : PickStrategy::priority;
    ctx.candidates = load_ready_tasks(tx, *project_id, ctx.now, strategy, kPickCandidates, schema);
  }
  if (needs.graph) {
    const auto nodes = readiness_nodes(command, ctx);
    ctx.graph = nodes ? load_graph_nodes(tx, *nodes, schema) : load_graph(tx, *project_id, schema);
  }
  if (needs.decision_id) ctx.superseded_decision = load_decision(tx, *needs.decision_id, schema);
}

std::int64_t loaded_version(const CommandContext& ctx, const Uuid& stream_id) {
  if (ctx.project && ctx.project->id == stream_id) return ctx.project->version;
  if (ctx.task && ctx.task->id == stream_id) return ctx.task->version;
  for (const TaskState& t : ctx.candidates)
    if (t.id == stream_id) return t.version;
  return 0;
}

}  // namespace tasklog::projections
