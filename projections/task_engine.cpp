#include "projections/task_engine.hpp"

#include "core/codec.hpp"
#include "core/decide.hpp"
#include "core/evolve.hpp"
#include "projections/command_context.hpp"
#include "projections/inline_projector.hpp"
#include "projections/row_handoff.hpp"

#include <boost/uuid/random_generator.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace tasklog::projections {
namespace {

Uuid random_uuid() {
  thread_local boost::uuids::random_generator generator;
  return generator();
}

// One command's events, all of one stream (decide's promise), as one StreamAppend.
std::vector<events::StreamAppend> to_appends(const std::vector<DomainEvent>& decided, const CommandContext& ctx,
                                             const Command& command) {
  if (decided.empty()) return {};
  const EventRoute target = route(decided.front());
  events::StreamAppend append{target.stream_id, std::string(stream_type_name(target.stream_type)),
                              events::ExpectedVersion::exact(loaded_version(ctx, target.stream_id)), {}};
  const std::string metadata = fmt::format(R"({{"command":"{}"}})", command_name(command));
  for (const DomainEvent& event : decided) {
    const EventRoute where = route(event);
    if (where.stream_id != target.stream_id)
      throw DomainError(ErrorCode::internal, fmt::format("{} produced events for two streams", command_name(command)));
    append.events.push_back(events::NewEvent{.event_id = random_uuid(),
                                             .type = std::string(event_type_name(event)),
                                             .schema_version = static_cast<std::int16_t>(event_schema_version(event)),
                                             .payload = encode_event(event),
                                             .metadata = metadata,
                                             .project_id = where.project_id,
                                             .task_id = where.task_id,
                                             .actor_id = ctx.actor});
  }
  return {std::move(append)};
}

// The row of the stream the command writes, as the decider loaded it (nullopt for a new stream).
std::optional<HandedRow> target_row(const CommandContext& ctx, const Uuid& stream_id) {
  if (ctx.project && ctx.project->id == stream_id) return *ctx.project;
  if (ctx.task && ctx.task->id == stream_id) return *ctx.task;
  for (const TaskState& t : ctx.candidates)
    if (t.id == stream_id) return t;
  return std::nullopt;
}

// The task row the projector will write for these events, when they are on a task's stream: the
// row as loaded (or a new one for TaskCreated) folded with them. recorded_at is the batch's stamp
// (append.now()), the events' own; versions follow the loaded one, as the exact expected version
// of to_appends makes them.
// `row` is target_row's answer for that stream.
std::optional<TaskState> task_after(const CommandContext& ctx, const std::vector<events::StreamAppend>& appends,
                                    const std::optional<HandedRow>& row, const std::vector<DomainEvent>& decided,
                                    Timestamp recorded_at) {
  if (appends.empty() || appends.front().stream_type != stream_type_name(StreamType::task)) return std::nullopt;
  TaskState task;
  if (row)
    if (const auto* loaded = std::get_if<TaskState>(&*row)) task = *loaded;
  std::int64_t version = loaded_version(ctx, appends.front().stream_id);
  for (const DomainEvent& event : decided)
    evolve(task, event, EventMeta{.position = 0, .version = ++version, .actor_id = ctx.actor, .recorded_at = recorded_at});
  return task;
}

}  // namespace

struct TaskEngine::Run {
  std::vector<DomainEvent> decided;
  std::optional<TaskState> task;  // CommandOutcome::task
  // The token a claim or pick hands out (CommandContext::lease_token), drawn once per command so
  // that a batch retried decides the same lease again; a heartbeat's, as presented.
  std::optional<Uuid> lease_token;
  std::vector<Uuid> handed;  // first event ids of every run of the decider (a batch may be retried)

  ~Run() {
    for (const Uuid& id : handed) RowHandoff::instance().drop(id);  // no-op once the projector took it
  }
};

events::EventStoreOptions engine_store_options(std::string conninfo) {
  events::EventStoreOptions options;
  options.conninfo = std::move(conninfo);
  options.role = "tasklog_app";
  options.projector = make_inline_projector();
  options.read_schema = std::string(kReadSchema);
  return options;
}

TaskEngine::TaskEngine(events::EventStore& store, std::function<Uuid()> new_id, std::function<Timestamp()> clock)
    : store_(store), new_id_(new_id ? std::move(new_id) : random_uuid), clock_(std::move(clock)) {}

events::Decider TaskEngine::decider(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version,
                                    Authorizer authorize, std::shared_ptr<Run> run) const {
  return [this, command, actor, expected_version, authorize = std::move(authorize), run](events::AppendContext& append) {
    CommandContext ctx;
    ctx.now = clock_ ? clock_() : append.now();
    ctx.actor = actor;
    ctx.new_id = new_id_;
    ctx.lease_token = run->lease_token;
    ctx.expected_version = expected_version;
    ctx.log_position = append.head();
    load_command_context(append, kReadSchema, command, ctx);
    if (authorize) authorize(ctx);
    // A batch that is retried runs its deciders again: keep only the last run's events.
    run->decided = decide(ctx, command);
    std::vector<events::StreamAppend> appends = to_appends(run->decided, ctx, command);
    std::optional<HandedRow> row;
    if (!appends.empty()) row = target_row(ctx, appends.front().stream_id);
    run->task = task_after(ctx, appends, row, run->decided, append.now());
    if (row) {
      const Uuid& first = appends.front().events.front().event_id;
      RowHandoff::instance().put(first, std::move(*row));
      run->handed.push_back(first);
    }
    return appends;
  };
}

namespace {

// The task row a command's decider reads first (load_command_context), announced to the deciders
// before it in its batch, so that the first of them that reads a task reads theirs as well.
std::vector<Uuid> task_read(const Command& command) {
  if (const auto task_id = context_needs(command).task_id) return {*task_id};
  return {};
}

}  // namespace

// A claim's or pick's token is a secret: from the operating system's random source (Boost's
// random_generator), never from an injected id source. A heartbeat's is the one its holder sent.
std::shared_ptr<TaskEngine::Run> TaskEngine::new_run(const Command& command) {
  auto run = std::make_shared<TaskEngine::Run>();
  if (std::holds_alternative<ClaimTask>(command) || std::holds_alternative<PickNextTask>(command))
    run->lease_token = random_uuid();
  else if (const auto* heartbeat = std::get_if<Heartbeat>(&command))
    run->lease_token = heartbeat->lease_token;
  return run;
}

CommandOutcome TaskEngine::outcome_of(events::AppendResult result, Run& run) {
  const bool leased = std::any_of(run.decided.begin(), run.decided.end(), [](const DomainEvent& e) {
    return std::holds_alternative<TaskClaimed>(e) || std::holds_alternative<TaskLeaseExtended>(e);
  });
  return CommandOutcome{std::move(result), std::move(run.decided), std::move(run.task),
                        leased ? run.lease_token : std::nullopt};
}

CommandOutcome TaskEngine::execute(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version,
                                   Authorizer authorize) {
  auto run = new_run(command);
  events::AppendResult result =
      store_.execute(decider(command, actor, expected_version, std::move(authorize), run), task_read(command));
  return outcome_of(std::move(result), *run);
}

void TaskEngine::async_execute(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version,
                               std::function<void(std::optional<CommandOutcome>, std::exception_ptr)> done,
                               Authorizer authorize) {
  auto run = new_run(command);
  store_.async_execute(decider(command, actor, expected_version, std::move(authorize), run),
                       [run, done = std::move(done)](events::AppendOutcome outcome) {
                         if (!outcome.result) {
                           done(std::nullopt, outcome.error);
                           return;
                         }
                         done(outcome_of(std::move(*outcome.result), *run), nullptr);
                       },
                       task_read(command));
}

}  // namespace tasklog::projections
