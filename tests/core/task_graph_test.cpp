#include "core/task_graph.hpp"

#include "domain_world.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using tasklog::testing::named_id;

namespace {

const Uuid A = named_id("A"), B = named_id("B"), C = named_id("C"), D = named_id("D");

}  // namespace

TEST(TaskGraph, SelfEdgeIsACycleOfOne) {
  const TaskGraph g{{A, {}}};
  EXPECT_EQ(find_cycle(g, A, A), (std::vector<Uuid>{A, A}));
}

TEST(TaskGraph, DirectCycle) {
  const TaskGraph g{{A, {}}, {B, {TaskStatus::todo, {A}}}};
  // B already depends on A; A -> B closes A -> B -> A.
  EXPECT_EQ(find_cycle(g, A, B), (std::vector<Uuid>{A, B, A}));
}

TEST(TaskGraph, IndirectCycleIsNamedInDependencyOrder) {
  // D -> C -> B -> A exist; A -> D would close A -> D -> C -> B -> A.
  const TaskGraph g{{A, {}}, {B, {TaskStatus::todo, {A}}}, {C, {TaskStatus::todo, {B}}}, {D, {TaskStatus::todo, {C}}}};
  EXPECT_EQ(find_cycle(g, A, D), (std::vector<Uuid>{A, D, C, B, A}));
}

TEST(TaskGraph, DiamondsAreNotCycles) {
  // D depends on B and C, both depend on A: adding D -> A is redundant but acyclic.
  const TaskGraph g{{A, {}}, {B, {TaskStatus::todo, {A}}}, {C, {TaskStatus::todo, {A}}}, {D, {TaskStatus::todo, {B, C}}}};
  EXPECT_TRUE(find_cycle(g, D, A).empty());
  EXPECT_EQ(find_cycle(g, A, D).size(), 4u);  // A -> D -> B -> A (first-listed branch)
  EXPECT_EQ(find_cycle(g, A, D), (std::vector<Uuid>{A, D, B, A}));
}

TEST(TaskGraph, OpenDependenciesAreTheNotDoneOnes) {
  const Uuid unknown = named_id("unknown");
  const TaskGraph g{{A, {TaskStatus::done, {}}}, {B, {TaskStatus::in_progress, {}}}, {C, {TaskStatus::cancelled, {}}}};
  EXPECT_EQ(open_dependencies({A, B, C, unknown}, g), (std::vector<Uuid>{B, C, unknown}));
}

TEST(TaskGraph, WaitingDependentsCountTransitivelyAndSkipFinished) {
  // B and C wait on A; D waits on C; E (done) waits on A.
  const Uuid E = named_id("E");
  const TaskGraph g{{A, {}},
                    {B, {TaskStatus::todo, {A}}},
                    {C, {TaskStatus::todo, {A}}},
                    {D, {TaskStatus::blocked, {C}}},
                    {E, {TaskStatus::done, {A}}}};
  const auto counts = waiting_dependents(g);
  EXPECT_EQ(counts.at(A), 3u);
  EXPECT_EQ(counts.at(C), 1u);
  EXPECT_EQ(counts.at(B), 0u);
  EXPECT_EQ(counts.at(D), 0u);
}
