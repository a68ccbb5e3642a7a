#include "projections/command_context.hpp"

#include "core/domain_events.hpp"
#include "projections/read_model_store.hpp"

#include <algorithm>
#include <any>
#include <map>
#include <set>
#include <string>

namespace tasklog::projections {
namespace {

// Most commands that need the graph look only at tasks they name: a claim and a completion at
// their task's dependencies (open_dependencies), a pick at its candidates' (unless it ranks by dependents),
// create_task and a task's decision at whether the named tasks exist in the project
// (require_in_graph). For them the engine loads just those nodes, so the hot path costs the same
// in a project of ten tasks or of ten thousand. The rest (cycle checks, checkpoint snapshots,
// the dependencies strategy) get the whole graph. Keep this in step with core/decide_*.cpp.
std::optional<std::vector<Uuid>> named_nodes(const Command& command, const CommandContext& ctx) {
  std::set<Uuid> nodes;
  auto add = [&](const std::vector<Uuid>& ids) { nodes.insert(ids.begin(), ids.end()); };
  if (std::holds_alternative<ClaimTask>(command) || std::holds_alternative<CompleteTask>(command)) {
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

// What this batch's deciders read, for its later deciders (AppendContext::scratch).
//
// Projects: a project's row and members change only with the project's own stream, so while no
// event of the batch is on it, the row read earlier under the same lock is still the row. A batch
// of task creations in one project then reads the project once instead of once per command.
//
// Pick candidates: the best ready tasks of a project, as read (and the project's "some
// not-started task waits on a dependency" at that moment). A later pick of the same batch takes
// them again unless an event since could have made a task ready that was not (a task created,
// released, reopened, unblocked, failed for a retry, reprioritized, its dependencies changed —
// or completed while some task waits on dependencies), or changed a candidate's row; a candidate
// that was claimed, blocked, cancelled or completed since is only struck off. The rest keep their
// order, and every task they were read ahead of is still behind them. A batch of picks in one
// project then reads its candidates once instead of writing the batch's events and reading them
// again per pick.
struct CandidatesRead {
  Uuid project{};
  PickStrategy strategy = PickStrategy::priority;
  Timestamp now{};
  std::vector<TaskState> tasks{};  // best first; struck off as they stop being candidates
  bool waiting = true;             // some not-started task of the project waited on a dependency
  std::size_t seen = 0;            // the batch's events up to here are accounted for
};

// Task rows read ahead: when a decider reads its task, the tasks the batch's later commands said
// they will read (AppendContext::reads_ahead) come in the same statement, each with its project —
// a batch of completions reads its tasks once instead of once per command. A row read ahead is
// taken by its command while no event of the batch is on the task or its project (a task's row
// and dependency list change only with its own stream, the project's row and members only with
// the project's); otherwise that command reads it again.
struct BatchReads {
  std::map<Uuid, std::optional<ProjectState>> projects;
  std::vector<CandidatesRead> candidates;
  std::map<Uuid, TaskWithProject> tasks;  // read ahead, not yet taken
};

BatchReads& batch_reads(events::AppendContext& append) {
  std::any& scratch = append.scratch();
  if (!scratch.has_value()) scratch = BatchReads{};
  return std::any_cast<BatchReads&>(scratch);
}

// Projects read in earlier batches (AppendContext::lasting_scratch), each as it was at its
// version: the state of a stream at a version never changes, so a kept row serves while the
// writer knows, without reading, that its project's stream is still at that version. Task
// creations in a busy project then read it once, not once per batch.
struct LastingReads {
  std::string schema;
  std::map<Uuid, ProjectState> projects;
};
constexpr std::size_t kLastingProjects = 1024;  // beyond this, start over

LastingReads& lasting_reads(events::AppendContext& append, std::string_view schema) {
  std::any& lasting = append.lasting_scratch();
  if (!lasting.has_value()) lasting = LastingReads{};
  auto& reads = std::any_cast<LastingReads&>(lasting);
  if (reads.schema != schema) reads = LastingReads{.schema = std::string(schema), .projects = {}};
  return reads;
}

std::optional<ProjectState> project_for(events::AppendContext& append, const Uuid& id, std::string_view schema) {
  auto& read = batch_reads(append).projects;
  const bool touched = append.touched(id);
  if (!touched)
    if (const auto it = read.find(id); it != read.end()) return it->second;
  auto& kept = lasting_reads(append, schema).projects;
  if (const auto it = kept.find(id); it != kept.end()) {
    if (append.known_version(id) == it->second.version) {
      read.insert_or_assign(id, it->second);
      return it->second;
    }
    kept.erase(it);
  }
  std::optional<ProjectState> project = load_project(append.tx_for({id}, {}), id, schema);
  read.insert_or_assign(id, project);
  // Only a row no event of this batch is on: committed state, whether or not the batch commits.
  if (project && !touched) {
    append.learned_version(id, project->version);
    if (kept.size() >= kLastingProjects) kept.clear();
    kept.insert_or_assign(id, *project);
  }
  return project;
}

TaskWithProject task_for(events::AppendContext& append, const Uuid& id, std::string_view schema) {
  // The task's project is not known before the read: any staged project event is written first.
  static const std::vector<std::string> kProjectStreams{std::string(stream_type_name(StreamType::project))};
  auto& ahead = batch_reads(append).tasks;
  if (const auto it = ahead.find(id); it != ahead.end()) {
    TaskWithProject kept = std::move(it->second);
    ahead.erase(it);
    if (kept.project && !append.touched(id) && !append.touched(kept.project->id)) return kept;
  }
  std::vector<Uuid> ids{id};
  // Rows no event of the batch is on yet: the read below sees them as they are now.
  for (const Uuid& later : append.reads_ahead())
    if (!append.touched(later) && !ahead.contains(later) && std::find(ids.begin(), ids.end(), later) == ids.end())
      ids.push_back(later);
  pqxx::transaction_base& tx = append.tx_for({id}, kProjectStreams);
  if (ids.size() == 1) return load_task_with_project(tx, id, schema);
  TaskWithProject found;
  for (TaskWithProject& row : load_tasks_with_projects(tx, ids, schema)) {
    if (row.task->id == id)
      found = std::move(row);
    else
      ahead.insert_or_assign(row.task->id, std::move(row));
  }
  // Not there (unknown, or never: a task without its project row): the one-task read says which.
  if (!found.task) return load_task_with_project(tx, id, schema);
  return found;
}

// Whether an event's stored type is one of these events' (core/domain_events.hpp type_name).
template <class... E>
bool is_one_of(std::string_view type) {
  return ((type == E::type_name) || ...);
}

// Whether `read` still holds after the batch's events since it was last brought up to date;
// strikes off the candidates those events took away.
bool still_holds(events::AppendContext& append, CandidatesRead& read) {
  for (; read.seen < append.event_count(); ++read.seen) {
    const events::RecordedEvent& e = append.event(read.seen);
    if (e.project_id != read.project) continue;
    const auto candidate = std::find_if(read.tasks.begin(), read.tasks.end(),
                                        [&](const TaskState& t) { return e.task_id && t.id == *e.task_id; });
    const std::string_view type = e.type;
    if (is_one_of<TaskClaimed, TaskBlocked, TaskCancelled, TaskCompleted>(type)) {
      // No longer ready, whatever it was. A completion readies the tasks that waited on it.
      if (candidate != read.tasks.end()) read.tasks.erase(candidate);
      if (type == TaskCompleted::type_name && read.waiting) return false;
    } else if (is_one_of<TaskLeaseExtended, TaskCriterionMet, TaskGatesEvaluated, TaskScopeAsserted,
                         TaskMessageAppended, TaskGitInfoRecorded, TaskUsageRecorded, ArtifactAppended,
                         CheckpointCreated, DecisionRecorded, DecisionSuperseded>(type)) {
      // Readiness is untouched; a candidate's row (its version) is not.
      if (candidate != read.tasks.end()) return false;
    } else {
      return false;
    }
  }
  return !read.tasks.empty();
}

std::vector<TaskState> candidates_for(events::AppendContext& append, const Uuid& project_id, Timestamp now,
                                      PickStrategy strategy, std::string_view schema) {
  // The dependencies strategy ranks the whole graph: nothing to keep.
  if (strategy == PickStrategy::dependencies)
    return load_ready_tasks(append.tx(), project_id, now, strategy, kPickCandidates, schema);
  auto& kept = batch_reads(append).candidates;
  auto it = std::find_if(kept.begin(), kept.end(), [&](const CandidatesRead& r) {
    return r.project == project_id && r.strategy == strategy && r.now == now;
  });
  if (it != kept.end() && still_holds(append, *it)) return it->tasks;
  if (it == kept.end()) it = kept.insert(kept.end(), CandidatesRead{.project = project_id, .strategy = strategy, .now = now});
  // First without writing the batch's staged events: the read sees the batch up to written_count()
  // and is brought up to date with the staged events after it exactly as a kept read is with later
  // ones. In a batch of completions and picks (agents finishing one task and taking the next) the
  // completions only strike their tasks off, and the batch's events are written once, with the
  // commit, instead of once more before the pick. Only when a staged event could have readied a
  // task, or changed a candidate's row, are they written and the candidates read again.
  // `tx` sees the batch's events up to `seen`.
  const auto read = [&](pqxx::transaction_base& tx, std::size_t seen) {
    it->tasks = load_ready_tasks(tx, project_id, now, strategy, kPickCandidates, schema, &it->waiting);
    it->seen = seen;
  };
  read(append.tx_for({}, {}), append.written_count());
  if (still_holds(append, *it)) return it->tasks;
  pqxx::transaction_base& written = append.tx();  // writes every staged event: the read includes them all
  read(written, append.event_count());
  return it->tasks;
}

}  // namespace

void load_command_context(events::AppendContext& append, std::string_view schema, const Command& command,
                          CommandContext& ctx) {
  // Each read names the streams whose events change the rows it reads, so that the batch's staged
  // events are written first only when they could change what it sees (AppendContext::tx_for).
  // A task's row and its dependency list change only with its own stream; a project's row and
  // members only with its stream. Reads over sets (candidates, the whole graph) see everything.
  const ContextNeeds needs = context_needs(command);
  std::optional<Uuid> project_id = needs.project_id;
  if (needs.task_id) {
    TaskWithProject loaded = task_for(append, *needs.task_id, schema);
    ctx.task = std::move(loaded.task);
    ctx.project = std::move(loaded.project);
    if (!ctx.task || !ctx.project) return;
    project_id = ctx.task->project_id;
  } else {
    if (!project_id) return;
    ctx.project = project_for(append, *project_id, schema);
    if (!ctx.project) return;
  }
  if (needs.candidates) {
    const auto* pick = std::get_if<PickNextTask>(&command);
    const PickStrategy strategy = pick ? pick->strategy : PickStrategy::priority;
    ctx.candidates = candidates_for(append, *project_id, ctx.now, strategy, schema);
  }
  if (needs.graph) {
    if (const auto nodes = named_nodes(command, ctx)) {
      // None named (a task created without dependencies or parent): nothing to read — and no
      // transaction asked for, which would take the lock of a batch decided from memory early.
      if (!nodes->empty()) ctx.graph = load_graph_nodes(append.tx_for(*nodes, {}), *project_id, *nodes, schema);
    } else
      ctx.graph = load_graph(append.tx(), *project_id, schema);
  }
  if (needs.decision_id) ctx.superseded_decision = load_decision(append.tx(), *needs.decision_id, schema);
}

std::int64_t loaded_version(const CommandContext& ctx, const Uuid& stream_id) {
  if (ctx.project && ctx.project->id == stream_id) return ctx.project->version;
  if (ctx.task && ctx.task->id == stream_id) return ctx.task->version;
  for (const TaskState& t : ctx.candidates)
    if (t.id == stream_id) return t.version;
  return 0;
}

}  // namespace tasklog::projections
