#include "core/decide.hpp"

#include "domain_world.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

const Uuid P = named_id("p"), T = named_id("t"), D = named_id("d");

}  // namespace

TEST(ContextNeeds, SayWhatToLoad) {
  EXPECT_EQ(context_needs(CreateProject{}), ContextNeeds{});
  EXPECT_EQ(context_needs(ArchiveProject{P, ""}), ContextNeeds{.project_id = P});
  EXPECT_EQ(context_needs(CreateTask{.project_id = P}), (ContextNeeds{.project_id = P, .graph = true}));
  EXPECT_EQ(context_needs(AddDependency{T, D}), (ContextNeeds{.task_id = T, .graph = true}));
  EXPECT_EQ(context_needs(ClaimTask{T, "a", {}}), (ContextNeeds{.task_id = T, .graph = true}));
  EXPECT_EQ(context_needs(PickNextTask{P, "a", PickStrategy::oldest, {}}),
            (ContextNeeds{.project_id = P, .graph = true, .candidates = true}));
  EXPECT_EQ(context_needs(Heartbeat{T, D, {}}), ContextNeeds{.task_id = T});
  EXPECT_EQ(context_needs(CompleteTask{T, D, "s", {}}), (ContextNeeds{.task_id = T, .graph = true}));
  EXPECT_EQ(context_needs(CreateCheckpoint{P, {}, "l", "s", "", ""}),
            (ContextNeeds{.project_id = P, .graph = true, .log_position = true}));
  EXPECT_EQ(context_needs(RecordDecision{P, {}, "t", {}, "c", "r", {}}), ContextNeeds{.project_id = P});
  EXPECT_EQ(context_needs(RecordDecision{P, T, "t", {}, "c", "r", D}),
            (ContextNeeds{.project_id = P, .graph = true, .decision_id = D}));
}

TEST(Decide, EveryCommandWritesOneStream) {
  DomainWorld w;
  const Uuid project = w.create_project();
  const Uuid t = w.create_task("t");
  const auto events = w.run(RecordDecision{project, t, "a", {}, "b", "c", std::nullopt});
  const auto superseding = w.run(RecordDecision{project, t, "a", {}, "b2", "c", std::get<DecisionRecorded>(events[0]).decision_id});
  ASSERT_EQ(superseding.size(), 2u);
  EXPECT_EQ(route(superseding[0]).stream_id, route(superseding[1]).stream_id);
}

TEST(Decide, MissingIdSourceIsAnInternalError) {
  CommandContext ctx;
  ctx.now = kT0;
  const DomainError e = refusal([&] { decide(ctx, CreateProject{"p", "", {}}); });
  EXPECT_EQ(e.code(), ErrorCode::internal);
}

TEST(Decide, IsPureGivenTheSameContext) {
  DomainWorld w;
  w.create_project();
  const Uuid t = w.create_task("t");
  int n = 0;
  CommandContext ctx = w.context_for(ClaimTask{t, "a", 60});
  ctx.new_id = [&n] { return named_id("fixed-" + std::to_string(n++)); };
  const auto first = decide(ctx, ClaimTask{t, "a", 60});
  n = 0;
  EXPECT_EQ(decide(ctx, ClaimTask{t, "a", 60}), first);
}

TEST(Decide, ATaskOfAnotherProjectIsNotFound) {
  DomainWorld w;
  w.create_project();
  const Uuid t = w.create_task("t");
  CommandContext ctx = w.context_for(CancelTask{t, ""});
  ctx.project->id = named_id("someone-else");
  const DomainError e = refusal([&] { decide(ctx, CancelTask{t, ""}); });
  EXPECT_EQ(e.code(), ErrorCode::not_found);
}
