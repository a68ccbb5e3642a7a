#include "projections/command_context.hpp"

#include "projections/read_model_store.hpp"

#include <set>

namespace tasklog::projections {
namespace {

// Most commands that need the graph look only at tasks they name: a claim at its task's
// dependencies (open_dependencies), a pick at its candidates' (unless it ranks by dependents),
// create_task and a task's decision at whether the named tasks exist in the project
// (require_in_graph). For them the engine loads just those nodes, so the hot path costs the same
// in a project of ten tasks or of ten thousand. The rest (cycle checks, checkpoint snapshots,
// the dependencies strategy) get the whole graph. Keep this in step with core/decide_*.cpp.
std::optional<std::vector<Uuid>> named_nodes(const Command& command, const CommandContext& ctx) {
  std::set<Uuid> nodes;
  auto add = [&](const std::vector<Uuid>& ids) { nodes.insert(ids.begin(), ids.end()); };
  if (std::holds_alternative<ClaimTask>(command)) {
    if (ctx.task) add(ctx.task->dependencies);
  } else if (const auto* pick = std::get_if<PickNextTask>(&command); pick && pick->strategy != PickStrategy::dependencies) {
    for (const TaskState& t : ctx.candidates) add(t.dependencies);
  } else if (const auto* create = std::get_if<CreateTask>(&command)) {
    add(create->dependencies);
    if (create->parent_task_id) nodes.insert(*create->parent_task_id);
  } else if (const auto* decision = std::get_if<RecordDecision>(&command); decision && decision->task_id) {
    nodes.insert(*decision->task_id);
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
    TaskWithProject loaded = load_task_with_project(tx, *needs.task_id, schema);
    ctx.task = std::move(loaded.task);
    ctx.project = std::move(loaded.project);
    if (!ctx.task || !ctx.project) return;
    project_id = ctx.task->project_id;
  } else {
    if (!project_id) return;
    ctx.project = load_project(tx, *project_id, schema);
    if (!ctx.project) return;
  }
  if (needs.candidates) {
    const auto* pick = std::get_if<PickNextTask>(&command);
    const PickStrategy strategy = pick ? pick->strategy : PickStrategy::priority;
    ctx.candidates = load_ready_tasks(tx, *project_id, ctx.now, strategy, kPickCandidates, schema);
  }
  if (needs.graph) {
    const auto nodes = named_nodes(command, ctx);
    ctx.graph = nodes ? load_graph_nodes(tx, *project_id, *nodes, schema) : load_graph(tx, *project_id, schema);
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
