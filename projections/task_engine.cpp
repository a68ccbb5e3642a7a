#include "projections/task_engine.hpp"

#include "core/codec.hpp"
#include "core/decide.hpp"
#include "projections/command_context.hpp"
#include "projections/inline_projector.hpp"

#include <boost/uuid/random_generator.hpp>
#include <fmt/format.h>

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

}  // namespace

events::EventStoreOptions engine_store_options(std::string conninfo) {
  events::EventStoreOptions options;
  options.conninfo = std::move(conninfo);
  options.role = "tasklog_app";
  options.projector = make_inline_projector();
  return options;
}

TaskEngine::TaskEngine(events::EventStore& store, std::function<Uuid()> new_id, std::function<Timestamp()> clock)
    : store_(store), new_id_(new_id ? std::move(new_id) : random_uuid), clock_(std::move(clock)) {}

events::Decider TaskEngine::decider(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version,
                                    std::shared_ptr<std::vector<DomainEvent>> decided) const {
  return [this, command, actor, expected_version, decided](events::AppendContext& append) {
    CommandContext ctx;
    ctx.now = clock_ ? clock_() : append.now();
    ctx.actor = actor;
    ctx.new_id = new_id_;
    ctx.expected_version = expected_version;
    ctx.log_position = append.head();
    load_command_context(append.tx(), kReadSchema, command, ctx);
    // A batch that is retried runs its deciders again: keep only the last run's events.
    *decided = decide(ctx, command);
    return to_appends(*decided, ctx, command);
  };
}

CommandOutcome TaskEngine::execute(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version) {
  auto decided = std::make_shared<std::vector<DomainEvent>>();
  events::AppendResult result = store_.execute(decider(command, actor, expected_version, decided));
  return CommandOutcome{std::move(result), std::move(*decided)};
}

void TaskEngine::async_execute(const Command& command, const Uuid& actor, std::optional<std::int64_t> expected_version,
                               std::function<void(std::optional<CommandOutcome>, std::exception_ptr)> done) {
  auto decided = std::make_shared<std::vector<DomainEvent>>();
  store_.async_execute(decider(command, actor, expected_version, decided),
                       [decided, done = std::move(done)](events::AppendOutcome outcome) {
                         if (!outcome.result) {
                           done(std::nullopt, outcome.error);
                           return;
                         }
                         done(CommandOutcome{std::move(*outcome.result), std::move(*decided)}, nullptr);
                       });
}

}  // namespace tasklog::projections
