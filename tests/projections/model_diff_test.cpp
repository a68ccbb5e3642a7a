// model_diff: the first difference between two sets of read models is named by table, row id and
// field with both values, in a fixed order; equal models have none.
#include "projections/model_diff.hpp"
#include "projections/read_model_tables.hpp"

#include <gtest/gtest.h>

namespace tasklog::projections {
namespace {

Uuid id(const std::string& name) { return derived_uuid("model-diff:" + name); }

const Timestamp kT = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1};

ProjectModels sample() {
  ProjectModel m;
  m.project = ProjectState{.id = id("p"), .name = "p", .members = {{id("alice"), Role::owner, kT}}, .version = 3};
  m.tasks[id("t1")] = TaskState{.id = id("t1"), .project_id = id("p"), .title = "one", .status = TaskStatus::todo};
  m.tasks[id("t2")] = TaskState{.id = id("t2"), .project_id = id("p"), .title = "two", .dependencies = {id("t1")}};
  m.artifacts[id("a")] = ArtifactRow{.id = id("a"), .project_id = id("p"), .task_id = id("t1"), .ref = "git:1"};
  m.decisions[id("d")] = DecisionRow{.id = id("d"), .project_id = id("p"), .title = "use x"};
  m.messages.push_back(MessageRow{.id = id("m1"), .project_id = id("p"), .task_id = id("t1"), .content = "hi"});
  m.messages.push_back(MessageRow{.id = id("m2"), .project_id = id("p"), .task_id = id("t1"), .content = "ho"});
  return {{id("p"), m}};
}

TEST(ModelDiffTest, EqualModelsHaveNoDifference) { EXPECT_FALSE(first_difference(sample(), sample()).has_value()); }

TEST(ModelDiffTest, NamesTableRowAndFieldWithBothValues) {
  auto found = sample();
  found[id("p")].tasks[id("t2")].status = TaskStatus::done;
  const auto d = first_difference(sample(), found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (Difference{"tasks", to_string(id("t2")), "status", "\"todo\"", "\"done\""}));
  EXPECT_EQ(d->describe(), "tasks row " + to_string(id("t2")) + ", field status: expected \"todo\", found \"done\"");
}

// verify prints the difference to an operator's terminal: a value's DEL and C1 controls (JSON
// leaves them raw) come out as escapes, as replay's do.
TEST(ModelDiffTest, DescribeEscapesControlCharactersOfTheValues) {
  auto found = sample();
  found[id("p")].tasks[id("t1")].title = "one\x7f\u009b2J";
  const auto d = first_difference(sample(), found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->found, "\"one\x7f\u009b2J\"");  // the value itself, as JSON has it
  EXPECT_EQ(d->describe(), "tasks row " + to_string(id("t1")) + R"(, field title: expected "one", found "one\u007f\u009b2J")");
}

TEST(ModelDiffTest, OptionalValuesPrintNull) {
  auto found = sample();
  found[id("p")].tasks[id("t1")].block_reason = "stuck";
  const auto d = first_difference(sample(), found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->field, "block_reason");
  EXPECT_EQ(d->expected, "null");
  EXPECT_EQ(d->found, "\"stuck\"");
}

TEST(ModelDiffTest, MissingAndExtraRows) {
  auto found = sample();
  found[id("p")].artifacts.clear();
  auto d = first_difference(sample(), found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->table, "artifacts");
  EXPECT_EQ(d->row, to_string(id("a")));
  EXPECT_EQ(d->describe(), "artifacts row " + to_string(id("a")) + ": missing (the log has it)");

  d = first_difference(found, sample());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->describe(), "artifacts row " + to_string(id("a")) + ": stored, but the log has no such row");
}

TEST(ModelDiffTest, MembersAndDependenciesAreRowsOfTheirOwnTables) {
  auto found = sample();
  found[id("p")].project->members[0].role = Role::viewer;
  auto d = first_difference(sample(), found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (Difference{"project_members", to_string(id("p")) + "/" + to_string(id("alice")), "role", "\"owner\"",
                            "\"viewer\""}));

  found = sample();
  found[id("p")].tasks[id("t2")].dependencies.clear();
  d = first_difference(sample(), found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->table, "task_dependencies");
  EXPECT_EQ(d->row, to_string(id("t2")) + "/0");  // the table's key: task_id, ordinal
  EXPECT_EQ(d->field, "");
}

TEST(ModelDiffTest, NamesTheColumnAsStoredAndTheOrdinalOfListRows) {
  auto expected = sample();
  expected[id("p")].tasks[id("t1")].lease = Lease{.id = id("lease"), .agent = "agent-1", .attempt = 1};
  auto found = expected;
  found[id("p")].tasks[id("t1")].lease->agent = "agent-2";
  auto d = first_difference(expected, found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->field, "lease_agent");
  EXPECT_EQ(d->found, "\"agent-2\"");

  expected = sample();
  expected[id("p")].project->members.push_back({id("bob"), Role::member, kT});
  found = expected;
  std::swap(found[id("p")].project->members[0], found[id("p")].project->members[1]);
  d = first_difference(expected, found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->table, "project_members");
  EXPECT_EQ(d->field, "ordinal");
}

TEST(ModelDiffTest, MessagesOutOfLogOrder) {
  auto found = sample();
  std::swap(found[id("p")].messages[0], found[id("p")].messages[1]);
  const auto d = first_difference(sample(), found);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->table, "task_messages");
  EXPECT_EQ(d->field, "(log order)");
}

// A log that repeats a message id folds to two rows of one id; the stored side holds one. Both
// lists then have the same ids, and the order check indexed the shorter list past its end.
TEST(ModelDiffTest, AMessageIdTheLogRepeatsIsADifference) {
  auto expected = sample();
  auto& messages = expected[id("p")].messages;
  messages.push_back(messages.front());
  const auto d = first_difference(expected, sample());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (Difference{"task_messages", to_string(id("m1")), "(rows with this id)", "2", "1"}));
  EXPECT_TRUE(first_difference(sample(), expected).has_value());
}

// The schema keeps a dependency added twice as two rows (migration 0002); keyed by depends_on the
// second one vanished on both sides and only the catch-all saw the models differ.
TEST(ModelDiffTest, ADependencyTheFoldHoldsTwiceIsARowOfItsOwn) {
  auto expected = sample();
  expected[id("p")].tasks[id("t2")].dependencies.push_back(id("t1"));
  const auto d = first_difference(expected, sample());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->table, "task_dependencies");
  EXPECT_EQ(d->row, to_string(id("t2")) + "/1");
  EXPECT_EQ(d->describe(), "task_dependencies row " + to_string(id("t2")) + "/1: missing (the log has it)");
}

// The list tables' rows as stored, given apart from the models (verify reads them so): their own
// project_id and ordinal are compared, and a row no project or task of the models holds is named.
TEST(ModelDiffTest, ListRowsAsStoredAreComparedColumnByColumn) {
  const auto models = sample();
  tables::ListRows stored{.members = tables::member_rows(*models.at(id("p")).project),
                          .dependencies = tables::dependency_rows(models.at(id("p")).tasks.at(id("t2")))};
  EXPECT_FALSE(first_difference(models, models, stored).has_value());

  auto moved = stored;
  moved.dependencies[0].project_id = id("elsewhere");
  auto d = first_difference(models, models, moved);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (Difference{"task_dependencies", to_string(id("t2")) + "/0", "project_id",
                            "\"" + to_string(id("p")) + "\"", "\"" + to_string(id("elsewhere")) + "\""}));

  auto orphan = stored;
  orphan.members.push_back({id("nowhere"), {id("bob"), Role::viewer, kT}, 0});
  d = first_difference(models, models, orphan);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->describe(), "project_members row " + to_string(id("nowhere")) + "/" + to_string(id("bob")) +
                               ": stored, but the log has no such row");
}

TEST(ModelDiffTest, AProjectMissingEntirelyIsReportedByItsProjectRow) {
  const auto d = first_difference(sample(), {});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->table, "projects");
  EXPECT_EQ(d->row, to_string(id("p")));
}

}  // namespace
}  // namespace tasklog::projections
