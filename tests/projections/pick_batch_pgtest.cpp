// pick_next_task within one batch: the candidates a pick read are kept for the batch's later picks
// (projections/command_context.cpp) — which must still take exactly the task that picking one
// command at a time would take, whatever the batch's other commands changed in between.
#include "tests/projections/engine_fixture.hpp"

#include <gmock/gmock.h>

#include <future>

namespace tasklog::projections::testing {
namespace {

class PickBatchTest : public EngineTest {
 protected:
  // Tasks created one after another, each a millisecond later: equal priorities go oldest first.
  Uuid create_later(const Uuid& project, const std::string& title, std::vector<Uuid> dependencies = {},
                    Priority priority = Priority::medium) {
    clock.advance(std::chrono::milliseconds(1));
    return create_task(project, title, std::move(dependencies), priority);
  }

  // Runs `commands` as one batch: the writer is held until every one of them is queued.
  std::vector<std::future<CommandOutcome>> one_batch(const std::vector<Command>& commands) {
    const auto batches_before = store->stats().batches;
    std::vector<std::future<CommandOutcome>> outcomes;
    hold_writer_while([&] {
      for (const Command& command : commands) {
        auto p = std::make_shared<std::promise<CommandOutcome>>();
        outcomes.push_back(p->get_future());
        engine->async_execute(command, actor, std::nullopt, [p](std::optional<CommandOutcome> o, std::exception_ptr e) {
          if (o) p->set_value(std::move(*o));
          else p->set_exception(e);
        });
      }
    });
    for (auto& o : outcomes) o.wait();
    EXPECT_EQ(store->stats().batches, batches_before + 2) << "the commands did not share one batch";
    return outcomes;
  }

  // The id of the task a pick claimed, or "none".
  static std::string picked(std::future<CommandOutcome>& outcome) {
    const CommandOutcome o = outcome.get();
    if (o.events.empty()) return "none";
    return to_string(std::get<TaskClaimed>(o.events.at(0)).task_id);
  }
};

TEST_F(PickBatchTest, PicksOfOneBatchTakeWhatPicksOneAtATimeWouldTake) {
  const Uuid project = create_project();
  const Uuid x = create_later(project, "x", {}, Priority::low);
  const Uuid x_token = claim(x);
  const Uuid p1 = create_later(project, "p1", {}, Priority::high);
  const Uuid p2 = create_later(project, "p2", {}, Priority::medium);
  const Uuid m = create_later(project, "m", {}, Priority::medium);
  const Uuid waits = create_later(project, "waits on x", {x}, Priority::critical);
  const Uuid l = create_later(project, "l", {}, Priority::low);

  const PickNextTask pick{.project_id = project, .agent = "picker"};
  auto outcomes = one_batch({
      pick,                                                                      // 0: p1, the best
      pick,                                                                      // 1: p2 (p1 is struck off)
      CreateTask{.project_id = project, .title = "new", .priority = Priority::critical},  // 2
      pick,                                                                      // 3: the new task
      CompleteTask{.task_id = x, .lease_token = x_token, .summary = "done"},     // 4: readies `waits`
      pick,                                                                      // 5: waits
      UpdateTask{.task_id = l, .priority = Priority::critical},                  // 6
      pick,                                                                      // 7: l, now ahead of m
      pick,                                                                      // 8: m
      pick,                                                                      // 9: nothing is ready
  });
  const Uuid created = std::get<TaskCreated>(outcomes[2].get().events.at(0)).task_id;
  EXPECT_EQ(picked(outcomes[0]), to_string(p1));
  EXPECT_EQ(picked(outcomes[1]), to_string(p2));
  EXPECT_EQ(picked(outcomes[3]), to_string(created));
  EXPECT_NO_THROW(outcomes[4].get());
  EXPECT_EQ(picked(outcomes[5]), to_string(waits));
  EXPECT_NO_THROW(outcomes[6].get());
  EXPECT_EQ(picked(outcomes[7]), to_string(l));
  EXPECT_EQ(picked(outcomes[8]), to_string(m));
  EXPECT_EQ(picked(outcomes[9]), "none");
  expect_consistent("after the batch of picks");
}

TEST_F(PickBatchTest, AClaimOrANoteOnACandidateInTheBatchIsSeenByTheNextPick) {
  const Uuid project = create_project();
  const Uuid a = create_later(project, "a", {}, Priority::high);
  const Uuid b = create_later(project, "b", {}, Priority::medium);
  const Uuid c = create_later(project, "c", {}, Priority::low);
  const PickNextTask pick{.project_id = project, .agent = "picker"};
  auto outcomes = one_batch({
      ClaimTask{.task_id = a, .agent = "direct"},  // 0: a claimed by name, before any pick
      pick,                                        // 1: b
      AppendArtifact{.task_id = c, .type = ArtifactType::document, .summary = "a note on a task not started"},  // 2
      pick,                                        // 3: c — its row changed (version): read again
      pick,                                        // 4: nothing
  });
  EXPECT_NO_THROW(outcomes[0].get());
  EXPECT_EQ(picked(outcomes[1]), to_string(b));
  EXPECT_NO_THROW(outcomes[2].get());
  EXPECT_EQ(picked(outcomes[3]), to_string(c));
  EXPECT_EQ(picked(outcomes[4]), "none");
  expect_consistent("after the batch");
}

TEST_F(PickBatchTest, PicksInterleavedWithCompletionsEachTakeADifferentTask) {
  // The shape of many agents at work: each completes its task and picks the next, all in one batch.
  const Uuid project = create_project();
  std::vector<std::pair<Uuid, Uuid>> held;  // (task, lease token)
  for (int i = 0; i < 8; ++i) {
    const Uuid task = create_later(project, "held " + std::to_string(i), {}, Priority::high);
    held.emplace_back(task, claim(task, "agent-" + std::to_string(i)));
  }
  std::vector<Uuid> ready;
  for (int i = 0; i < 12; ++i) ready.push_back(create_later(project, "ready " + std::to_string(i)));
  std::vector<Command> commands;
  for (int i = 0; i < 8; ++i) {
    commands.push_back(CompleteTask{.task_id = held[i].first, .lease_token = held[i].second, .summary = "done"});
    commands.push_back(PickNextTask{.project_id = project, .agent = "agent-" + std::to_string(i)});
  }
  auto outcomes = one_batch(commands);
  std::vector<std::string> taken;
  for (std::size_t i = 0; i < outcomes.size(); i += 2) {
    EXPECT_NO_THROW(outcomes[i].get()) << "completion " << i / 2;
    taken.push_back(picked(outcomes[i + 1]));
  }
  // The oldest ready tasks, in order (equal priority: oldest first), each once.
  std::vector<std::string> expected;
  for (int i = 0; i < 8; ++i) expected.push_back(to_string(ready[i]));
  EXPECT_EQ(taken, expected);
  expect_consistent("after completions and picks");
}

}  // namespace
}  // namespace tasklog::projections::testing
