#include "core/chooser.hpp"

#include "domain_world.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

TaskState todo(const std::string& name, Priority priority, Timestamp created, std::vector<Uuid> deps = {}) {
  TaskState t;
  t.id = named_id(name);
  t.title = name;
  t.priority = priority;
  t.created_at = created;
  t.dependencies = std::move(deps);
  return t;
}

TaskGraph graph_of(const std::vector<TaskState>& tasks, const std::map<Uuid, TaskNode>& extra = {}) {
  TaskGraph g = extra;
  for (const TaskState& t : tasks) g[t.id] = {t.status, t.dependencies};
  return g;
}

}  // namespace

TEST(Ready, TodoWithDoneDependenciesAndNoPendingRetry) {
  TaskState t = todo("t", Priority::medium, kT0, {named_id("dep")});
  TaskGraph g{{named_id("dep"), {TaskStatus::done, {}}}};
  EXPECT_TRUE(is_ready(t, g, kT0));

  g[named_id("dep")].status = TaskStatus::in_progress;
  EXPECT_FALSE(is_ready(t, g, kT0));
  g[named_id("dep")].status = TaskStatus::done;

  t.next_retry_at = kT0 + 30s;
  EXPECT_FALSE(is_ready(t, g, kT0 + 29s));
  EXPECT_TRUE(is_ready(t, g, kT0 + 30s));

  t.status = TaskStatus::blocked;
  EXPECT_FALSE(is_ready(t, g, kT0 + 31s));
}

TEST(Ready, AnUnknownDependencyIsNeverDone) {
  const TaskState t = todo("t", Priority::medium, kT0, {named_id("ghost")});
  EXPECT_FALSE(is_ready(t, {}, kT0));
}

TEST(Chooser, PriorityPicksMostUrgentThenOldest) {
  const std::vector<TaskState> c{todo("low", Priority::low, kT0), todo("high-new", Priority::high, kT0 + 2s),
                                 todo("high-old", Priority::high, kT0 + 1s), todo("medium", Priority::medium, kT0)};
  EXPECT_EQ(choose_next_task(c, graph_of(c), PickStrategy::priority, kT0 + 10s), named_id("high-old"));
}

TEST(Chooser, OldestAndNewest) {
  const std::vector<TaskState> c{todo("middle", Priority::critical, kT0 + 1s), todo("first", Priority::low, kT0),
                                 todo("last", Priority::low, kT0 + 2s)};
  EXPECT_EQ(choose_next_task(c, graph_of(c), PickStrategy::oldest, kT0 + 10s), named_id("first"));
  EXPECT_EQ(choose_next_task(c, graph_of(c), PickStrategy::newest, kT0 + 10s), named_id("last"));
}

TEST(Chooser, DependenciesPicksWhatUnblocksMostWork) {
  // "root" has two tasks waiting on it (one transitively); "leaf" has none but is critical.
  TaskState root = todo("root", Priority::low, kT0 + 5s);
  TaskState leaf = todo("leaf", Priority::critical, kT0);
  const std::map<Uuid, TaskNode> waiting{{named_id("mid"), {TaskStatus::todo, {root.id}}},
                                         {named_id("top"), {TaskStatus::todo, {named_id("mid")}}}};
  const std::vector<TaskState> c{leaf, root};
  EXPECT_EQ(choose_next_task(c, graph_of(c, waiting), PickStrategy::dependencies, kT0 + 10s), root.id);
  // Equal waiting work: priority decides.
  EXPECT_EQ(choose_next_task(c, graph_of(c), PickStrategy::dependencies, kT0 + 10s), leaf.id);
}

TEST(Chooser, SkipsTasksThatAreNotReady) {
  TaskState waiting_on_dep = todo("dep-open", Priority::critical, kT0, {named_id("open")});
  TaskState backing_off = todo("backoff", Priority::critical, kT0);
  backing_off.next_retry_at = kT0 + 1h;
  TaskState plain = todo("plain", Priority::low, kT0 + 1s);
  const std::vector<TaskState> c{waiting_on_dep, backing_off, plain};
  const auto g = graph_of(c, {{named_id("open"), {TaskStatus::todo, {}}}});
  EXPECT_EQ(choose_next_task(c, g, PickStrategy::priority, kT0 + 10s), plain.id);
}

TEST(Chooser, NothingReadyGivesNothing) {
  TaskState t = todo("t", Priority::high, kT0);
  t.status = TaskStatus::in_progress;
  EXPECT_EQ(choose_next_task({t}, graph_of({t}), PickStrategy::priority, kT0), std::nullopt);
  EXPECT_EQ(choose_next_task({}, {}, PickStrategy::oldest, kT0), std::nullopt);
}

TEST(Chooser, TiesGoToTheSmallerIdDeterministically) {
  const std::vector<TaskState> c{todo("x", Priority::high, kT0), todo("y", Priority::high, kT0)};
  const Uuid expected = std::min(named_id("x"), named_id("y"));
  EXPECT_EQ(choose_next_task(c, graph_of(c), PickStrategy::priority, kT0), expected);
  EXPECT_EQ(choose_next_task(c, graph_of(c), PickStrategy::newest, kT0), expected);
}
