// Each inline projector path against PostgreSQL: after every command, the read models that the
// append transaction wrote equal the fold of the log, and refusals leave both untouched.
#include "projections/rebuild.hpp"
#include "tests/projections/engine_fixture.hpp"

#include <gmock/gmock.h>

#include <algorithm>
#include <future>

namespace tasklog::projections::testing {
namespace {

class InlineProjectorTest : public EngineTest {};

ProjectRules rich_rules() {
  ProjectRules rules;
  rules.gates = {Gate{.kind = GateKind::has_artifacts, .min_count = 1, .name = {}},
                 Gate{.kind = GateKind::acceptance_met, .min_count = 1, .name = {}},
                 Gate{.kind = GateKind::custom, .min_count = 1, .name = "lint"}};
  rules.scope = ScopeRules{.allowed = {"src/**", "docs/*.md"}, .forbidden = {"src/secrets/**"}};
  rules.max_attempts = 2;
  rules.default_lease_seconds = 120;
  return rules;
}

TEST_F(InlineProjectorTest, ProjectCreateUpdateMembersArchive) {
  const Uuid project = create_project(rich_rules());
  const Uuid bob = derived_uuid("test:bob"), carol = derived_uuid("test:carol");
  clock.advance(1s);
  step(UpdateProject{.project_id = project, .project_name = "renamed", .description = "it's \"quoted\"\tand\\slashed"});
  step(UpdateProject{.project_id = project, .rules = ProjectRulesPatch{.max_attempts = 4}});
  clock.advance(1s);
  step(AddMember{.project_id = project, .user_id = bob, .role = Role::viewer});
  step(AddMember{.project_id = project, .user_id = carol, .role = Role::member});
  step(AddMember{.project_id = project, .user_id = bob, .role = Role::owner});  // a role change keeps bob's place
  step(RemoveMember{.project_id = project, .user_id = actor});
  step(AddMember{.project_id = project, .user_id = actor, .role = Role::member});  // back at the end

  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  const auto loaded = load_project(tx, project);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->members.size(), 3u);
  EXPECT_EQ(loaded->members[0].user_id, bob);
  EXPECT_EQ(loaded->members[0].role, Role::owner);
  EXPECT_EQ(loaded->members[1].user_id, carol);
  EXPECT_EQ(loaded->members[2].user_id, actor);
  EXPECT_EQ(loaded->description, "it's \"quoted\"\tand\\slashed");
  EXPECT_EQ(loaded->version, 8);
  tx.commit();

  EXPECT_EQ(refused(RemoveMember{.project_id = project, .user_id = bob}), ErrorCode::validation_failed);  // the last owner
  step(ArchiveProject{.project_id = project, .reason = "done"});
  EXPECT_EQ(refused(CreateTask{.project_id = project, .title = "late"}), ErrorCode::illegal_transition);
  EXPECT_EQ(refused(ArchiveProject{.project_id = derived_uuid("test:nope"), .reason = "x"}), ErrorCode::not_found);
  expect_consistent("after refusals");
}

// Runs a command as `user` the way the HTTP layer does (its member_check: a user the project row
// does not list is refused); the refusal's code, or nothing when it was accepted.
std::optional<ErrorCode> run_as_member(TaskEngine& engine, const Command& command, const Uuid& user) {
  const Authorizer members_only = [&](const CommandContext& c) {
    if (c.project && std::ranges::none_of(c.project->members, [&](const Member& m) { return m.user_id == user; }))
      throw DomainError(ErrorCode::not_found, "project not found");
  };
  try {
    engine.execute(command, user, std::nullopt, members_only);
    return std::nullopt;
  } catch (const DomainError& e) {
    return e.code();
  }
}

// Projects read by earlier batches are kept for later ones (AppendContext::lasting_scratch) while
// the writer knows, without reading, that the project's stream has not moved: a change through
// this writer, or any append by another, makes the next command read the project again.
TEST_F(InlineProjectorTest, AProjectKeptFromAnEarlierBatchIsReadAgainOnceItChanged) {
  const Uuid project = create_project();
  const Uuid bob = derived_uuid("test:bob");
  const auto stranger = run_as_member(*engine, CreateTask{.project_id = project, .title = "before"}, bob);
  ASSERT_TRUE(stranger);  // and the project is kept
  step(AddMember{.project_id = project, .user_id = bob, .role = Role::member});
  EXPECT_EQ(run_as_member(*engine, CreateTask{.project_id = project, .title = "as a member"}, bob), std::nullopt);
  step(RemoveMember{.project_id = project, .user_id = bob});
  EXPECT_EQ(run_as_member(*engine, CreateTask{.project_id = project, .title = "after the removal"}, bob), stranger);
  create_task(project, "kept again");
  {
    events::EventStore other_store(engine_store_options(db.conninfo()));
    TaskEngine other(other_store);
    other.execute(ArchiveProject{.project_id = project, .reason = "archived by another writer"}, actor);
  }
  EXPECT_EQ(refused(CreateTask{.project_id = project, .title = "late"}), ErrorCode::illegal_transition);
  expect_consistent("after the other writer");
}

// A batch decided from the writer's memory with the lock not taken yet (nothing it needed had to
// be read) and refused from a kept row: it inserts nothing, so no collision would tell that
// another writer changed the row meanwhile — the refusal is answered only after the head under
// the lock shows that nobody did.
TEST_F(InlineProjectorTest, ARefusalDecidedFromAKeptRowIsCheckedAgainstTheLogFirst) {
  const Uuid project = create_project();
  const Uuid bob = derived_uuid("test:bob");
  ASSERT_TRUE(run_as_member(*engine, CreateTask{.project_id = project, .title = "before"}, bob));
  create_task(project, "the writer's last commit");
  {
    events::EventStore other_store(engine_store_options(db.conninfo()));
    TaskEngine other(other_store);
    other.execute(AddMember{.project_id = project, .user_id = bob, .role = Role::member}, actor);
  }
  EXPECT_EQ(run_as_member(*engine, CreateTask{.project_id = project, .title = "as a member"}, bob), std::nullopt);
  expect_consistent("after the other writer");
}

// Task creations in a project the writer kept: decided from its memory, nothing read under the
// lock, one round trip each (the lock comes with the insert). Another writer's append costs the
// next one a second try, reading; what it appends is right either way.
TEST_F(InlineProjectorTest, TaskCreationsInAKeptProjectReadNothingUnderTheLock) {
  const Uuid project = create_project();
  create_task(project, "reads the project once");
  const auto before = store->stats();
  for (int i = 0; i < 5; ++i) create_task(project, "created from memory");
  const auto after = store->stats();
  EXPECT_EQ(after.unread_batches - before.unread_batches, 5u);
  EXPECT_EQ(after.inserts - before.inserts, 5u);
  EXPECT_EQ(after.memory_misses, before.memory_misses);
  {
    events::EventStore other_store(engine_store_options(db.conninfo()));
    TaskEngine other(other_store);
    other.execute(UpdateProject{.project_id = project, .project_name = "renamed elsewhere"}, actor);
  }
  const Uuid task = create_task(project, "after the other writer");
  EXPECT_EQ(store->stats().memory_misses, after.memory_misses + 1);
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EXPECT_EQ(load_task(tx, task)->project_id, project);
  EXPECT_EQ(load_project(tx, project)->name, "renamed elsewhere");
}

// A rebuild swaps new read models in under the append lock without appending, so the log's head
// cannot tell the writer that the project rows it kept are from the old ones. Here the old row was
// wrong (changed behind the log's back): after the swap, a project command decided from the kept
// row would write it back into the rebuilt schema. The writer checks the schema with the lock.
TEST_F(InlineProjectorTest, ProjectRowsKeptBeforeARebuildAreNotUsedAfterItsSwap) {
  const Uuid project = create_project();
  {
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    tx.exec_params0("UPDATE readmodel.projects SET name = 'changed behind the log' WHERE id = $1", to_string(project));
    tx.commit();
  }
  run(CreateTask{.project_id = project, .title = "keeps the project as it reads now"});
  run(CreateTask{.project_id = project, .title = "decided from memory"});
  rebuild_read_models(db.conninfo());
  run(UpdateProject{.project_id = project, .description = "after the rebuild"});
  expect_consistent("after a project command following the swap");
  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  EXPECT_EQ(load_project(tx, project)->name, "demo");
}

TEST_F(InlineProjectorTest, TaskDefinitionAndDependencies) {
  const Uuid project = create_project();
  const Uuid a = create_task(project, "a");
  const Uuid b = create_task(project, "b", {a}, Priority::high, {"one", "two"});
  const Uuid c = std::get<TaskCreated>(step(CreateTask{.project_id = project,
                                                       .title = "c",
                                                       .description = "multi\nline",
                                                       .type = "bug",
                                                       .priority = Priority::critical,
                                                       .acceptance_criteria = {"works"},
                                                       .constraints = {"no new deps", "ünïcödé ✓"},
                                                       .dependencies = {b, a},
                                                       .parent_task_id = a,
                                                       .timebox_seconds = 3600})
                                           .events.at(0))
                     .task_id;
  clock.advance(1s);
  step(UpdateTask{.task_id = c,
                  .title = "c2",
                  .priority = Priority::low,
                  .acceptance_criteria = std::vector<std::string>{"x", "y", "z"},
                  .constraints = std::vector<std::string>{},
                  .timebox_seconds = 60});
  const Uuid d = create_task(project, "d");
  step(AddDependency{.task_id = d, .depends_on = c});
  step(AddDependency{.task_id = d, .depends_on = a});
  step(RemoveDependency{.task_id = d, .depends_on = c});
  step(AddDependency{.task_id = d, .depends_on = c});  // order of addition: a, c

  EXPECT_EQ(refused(AddDependency{.task_id = a, .depends_on = d}), ErrorCode::dependency_cycle);
  // Tasks of another project are not found, however the engine loads the graph.
  const Uuid elsewhere = create_task(create_project(), "elsewhere");
  EXPECT_EQ(refused(CreateTask{.project_id = project, .title = "x", .dependencies = {elsewhere}}), ErrorCode::not_found);
  EXPECT_EQ(refused(CreateTask{.project_id = project, .title = "x", .parent_task_id = elsewhere}), ErrorCode::not_found);
  EXPECT_EQ(refused(AddDependency{.task_id = d, .depends_on = elsewhere}), ErrorCode::not_found);
  EXPECT_EQ(refused(RecordDecision{.project_id = project, .task_id = elsewhere, .title = "t", .choice = "c"}),
            ErrorCode::not_found);
  EXPECT_EQ(refused(UpdateTask{.task_id = derived_uuid("test:none"), .title = "x"}), ErrorCode::not_found);

  pqxx::connection conn(db.conninfo());
  pqxx::read_transaction tx(conn);
  EXPECT_EQ(load_task(tx, d)->dependencies, (std::vector<Uuid>{a, c}));
  EXPECT_EQ(load_task(tx, c)->dependencies, (std::vector<Uuid>{b, a}));
  const TaskGraph graph = load_graph(tx, project);
  ASSERT_EQ(graph.size(), 4u);  // not the other project's task
  EXPECT_EQ(graph.at(d).dependencies, (std::vector<Uuid>{a, c}));
  EXPECT_TRUE(graph.at(a).dependencies.empty());
  EXPECT_EQ(load_todo_tasks(tx, project).size(), 4u);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM readmodel.task_dependencies WHERE depends_on = '" + to_string(a) + "'")[0][0]
                .as<int>(),
            3);
}

TEST_F(InlineProjectorTest, LeaseWorkAndCompletion) {
  const Uuid project = create_project(rich_rules());
  const Uuid task = create_task(project, "work", {}, Priority::high, {"tests pass", "docs updated"});
  const Uuid token = claim(task, "agent-1", 60);
  clock.advance(10s);
  step(Heartbeat{.task_id = task, .lease_token = token, .lease_seconds = 300});
  step(ReleaseTask{.task_id = task, .lease_token = token, .reason = "lunch"});
  const Uuid token2 = claim(task, "agent-2");
  step(BlockTask{.task_id = task, .reason = "need a key", .needs_human = true, .lease_token = token2});
  step(UnblockTask{.task_id = task, .note = "key added"});
  const Uuid token3 = claim(task, "agent-3");
  step(MarkCriterionMet{.task_id = task, .index = 0, .evidence = "ci run 12", .lease_token = token3});
  const auto artifact = std::get<ArtifactAppended>(step(AppendArtifact{.task_id = task,
                                                                       .type = ArtifactType::diff,
                                                                       .ref = "git:abc",
                                                                       .summary = "the change",
                                                                       .content = std::string("--- a\n+++ b\n\t'x'\\"),
                                                                       .lease_token = token3})
                                                      .events.at(0));
  step(AppendArtifact{.task_id = task, .type = ArtifactType::test_report, .ref = "ci:12", .lease_token = token3});
  step(AssertScope{.task_id = task,
                   .files_changed = {"src/a.cpp", "src/secrets/key"},
                   .files_added = {"docs/x.md"},
                   .lease_token = token3});
  step(AssertScope{.task_id = task, .files_changed = {"src/a.cpp"}, .lease_token = token3});
  step(EvaluateGates{.task_id = task, .custom_passed = {}, .lease_token = token3});
  step(RecordGitInfo{.task_id = task, .git = GitInfo{.branch = "feat/x", .pr_number = 42}, .lease_token = token3});
  step(RecordGitInfo{.task_id = task, .git = GitInfo{.commit_hash = "abc123"}, .lease_token = token3});
  step(RecordUsage{.task_id = task, .tokens = 1000, .cost_usd = 0.1, .lease_token = token3});
  step(RecordUsage{.task_id = task, .tokens = 234, .cost_usd = 0.2, .lease_token = token3});  // 0.30000000000000004
  step(AppendMessage{.task_id = task, .role = MessageRole::assistant, .content = "on it", .lease_token = token3});
  step(AppendMessage{.task_id = task, .role = MessageRole::tool, .content = "{\"json\": true}", .lease_token = token3});
  // Gates: criterion 1 unmet and the custom gate not reported.
  EXPECT_EQ(refused(CompleteTask{.task_id = task, .lease_token = token3, .summary = "early"}), ErrorCode::gate_failed);
  step(MarkCriterionMet{.task_id = task, .index = 1, .evidence = "README", .lease_token = token3});
  step(EvaluateGates{.task_id = task, .custom_passed = {"lint"}, .lease_token = token3});
  EXPECT_EQ(refused(CompleteTask{.task_id = task, .lease_token = token2, .summary = "stale"}), ErrorCode::lease_lost);
  step(CompleteTask{.task_id = task, .lease_token = token3, .summary = "done", .artifact_ids = {artifact.artifact_id}});

  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  const auto t = load_task(tx, task);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, TaskStatus::done);
  EXPECT_EQ(t->usage.cost_usd, 0.1 + 0.2);
  EXPECT_EQ(t->usage.tokens, 1234);
  EXPECT_EQ(t->git.branch, "feat/x");
  EXPECT_EQ(t->git.commit_hash, "abc123");
  EXPECT_EQ(t->message_count, 2);
  EXPECT_EQ(t->artifacts.size(), 2u);
  EXPECT_FALSE(t->lease);
  EXPECT_EQ(tx.exec("SELECT content FROM readmodel.artifacts WHERE id = '" + to_string(artifact.artifact_id) + "'")[0][0]
                .as<std::string>(),
            "--- a\n+++ b\n\t'x'\\");
}

TEST_F(InlineProjectorTest, FailRetryGiveUpCancelReopen) {
  ProjectRules rules;
  rules.max_attempts = 2;
  const Uuid project = create_project(rules);
  const Uuid task = create_task(project, "flaky");
  const Uuid first = claim(task);
  const auto failed = std::get<TaskAttemptFailed>(step(FailTask{.task_id = task, .lease_token = first, .error = "boom"})
                                                      .events.at(0));
  ASSERT_TRUE(failed.retry_at);
  EXPECT_FALSE(failed.gave_up);
  EXPECT_EQ(refused(ClaimTask{.task_id = task, .agent = "eager"}), ErrorCode::task_not_ready);
  clock.advance(std::chrono::duration_cast<std::chrono::microseconds>(*failed.retry_at - clock()) + 1s);
  const Uuid second = claim(task);
  const auto gave_up = std::get<TaskAttemptFailed>(
      step(FailTask{.task_id = task, .lease_token = second, .error = "boom again"}).events.at(0));
  EXPECT_TRUE(gave_up.gave_up);
  step(ReopenTask{.task_id = task, .reason = "fixed the env"});
  step(CancelTask{.task_id = task, .reason = "not needed"});
  step(ReopenTask{.task_id = task, .reason = "needed after all"});

  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  const auto t = load_task(tx, task);
  EXPECT_EQ(t->status, TaskStatus::todo);
  EXPECT_EQ(t->attempts, 0);
  EXPECT_FALSE(t->next_retry_at);
  EXPECT_FALSE(t->failure_reason);
}

TEST_F(InlineProjectorTest, CheckpointsAndDecisions) {
  const Uuid project = create_project();
  const Uuid a = create_task(project, "a");
  create_task(project, "b", {a});
  claim(a);
  const auto checkpoint = std::get<CheckpointCreated>(step(CreateCheckpoint{.project_id = project,
                                                                            .task_id = a,
                                                                            .label = "before refactor",
                                                                            .summary = "half way",
                                                                            .repo_ref = "main@abc",
                                                                            .resume_instructions = "run make"})
                                                          .events.at(0));
  EXPECT_EQ(checkpoint.tasks.size(), 2u);
  const auto first = std::get<DecisionRecorded>(step(RecordDecision{.project_id = project,
                                                                    .title = "db",
                                                                    .options = {"postgres", "sqlite"},
                                                                    .choice = "postgres",
                                                                    .rationale = "we need NOTIFY"})
                                                    .events.at(0));
  const auto second = step(RecordDecision{.project_id = project,
                                          .task_id = a,
                                          .title = "db, again",
                                          .options = {"postgres 15", "postgres 16"},
                                          .choice = "postgres 15",
                                          .rationale = "Debian 12",
                                          .supersedes = first.decision_id});
  ASSERT_EQ(second.events.size(), 2u);  // DecisionRecorded + DecisionSuperseded, one command
  EXPECT_EQ(refused(RecordDecision{.project_id = project,
                                   .title = "db, third",
                                   .options = {"x"},
                                   .choice = "x",
                                   .rationale = "r",
                                   .supersedes = first.decision_id}),
            ErrorCode::illegal_transition);

  pqxx::connection c(db.conninfo());
  pqxx::read_transaction tx(c);
  const auto old = load_decision(tx, first.decision_id);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->superseded_by, std::get<DecisionRecorded>(second.events[0]).decision_id);
  EXPECT_TRUE(old->superseded_at);
}

// Commands that arrive together share one append transaction: the projector sees several
// commands' events in one call and must build each on the rows the earlier ones wrote.
TEST_F(InlineProjectorTest, ConcurrentCommandsShareBatches) {
  const Uuid project = create_project();
  constexpr int kTasks = 40;
  std::vector<std::future<CommandOutcome>> created;
  for (int i = 0; i < kTasks; ++i)
    created.push_back(std::async(std::launch::async, [&, i] {
      return run(CreateTask{.project_id = project, .title = "t" + std::to_string(i)});
    }));
  std::vector<Uuid> tasks;
  for (auto& f : created) tasks.push_back(std::get<TaskCreated>(f.get().events.at(0)).task_id);
  std::vector<std::future<void>> worked;
  for (const Uuid& task : tasks)
    worked.push_back(std::async(std::launch::async, [&, task] {
      const Uuid token = *run(ClaimTask{.task_id = task, .agent = "a"}).lease_token;
      run(AppendMessage{.task_id = task, .content = "hi", .lease_token = token});
      run(RecordUsage{.task_id = task, .tokens = 1, .cost_usd = 0.5, .lease_token = token});
      run(CompleteTask{.task_id = task, .lease_token = token, .summary = "ok"});
    }));
  for (auto& f : worked) f.get();
  expect_consistent("after the concurrent commands");
  EXPECT_LT(store->stats().batches, store->stats().commands);  // some commands did share a batch
  EXPECT_EQ(query("SELECT count(*) FROM readmodel.tasks WHERE status = 'done'")[0][0].as<int>(), kTasks);
}

// The commands of one batch see each other's effects although the batch writes its events only
// when a read needs them (AppendContext::tx_for): a task created earlier in the batch is a
// dependency, a parent and claimable for later commands, a project renamed earlier is read
// renamed and one archived earlier refuses a later creation (although the batch's first commands
// read it, unarchived), and afterwards the read models equal the fold of the log.
TEST_F(InlineProjectorTest, CommandsOfOneBatchSeeEachOthersEffects) {
  const Uuid project = create_project();
  const Uuid existing = create_task(project, "existing");
  // This engine's ids are predictable, so that a command can name a task an earlier command of the
  // same batch creates: the batch's first id is the first task's.
  int next = 0;  // the writer thread is the only caller
  TaskEngine same_batch(*store, [&next] { return derived_uuid("batch:" + std::to_string(next++)); });
  const Uuid first = derived_uuid("batch:0");

  // The writer holds a batch until every command is queued, so that they all share the next one.
  const auto batches_before = store->stats().batches;
  std::vector<std::future<CommandOutcome>> outcomes;
  auto submit = [&](const Command& command) { outcomes.push_back(EngineTest::submit(same_batch, command)); };
  hold_writer_while([&] {
    submit(CreateTask{.project_id = project, .title = "first"});
    submit(CreateTask{.project_id = project, .title = "second", .dependencies = {first}});
    submit(CreateTask{.project_id = project, .title = "child", .parent_task_id = first});
    submit(ClaimTask{.task_id = first, .agent = "a"});
    submit(UpdateProject{.project_id = project, .project_name = "renamed"});
    submit(CreateTask{.project_id = project, .title = "after the rename"});
    submit(ClaimTask{.task_id = existing, .agent = "b"});
    submit(ArchiveProject{.project_id = project});
    submit(CreateTask{.project_id = project, .title = "after the archive"});  // the project read again: refused
  });
  std::vector<CommandOutcome> done;
  for (std::size_t i = 0; i + 1 < outcomes.size(); ++i) {
    try {
      done.push_back(outcomes[i].get());
    } catch (const DomainError& e) {
      FAIL() << "command " << i << " of the batch was refused: " << e.what();
    }
  }
  try {
    outcomes.back().get();
    ADD_FAILURE() << "a task was created in an archived project";
  } catch (const DomainError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("archived"));
  }
  EXPECT_EQ(std::get<TaskCreated>(done.at(0).events.at(0)).task_id, first);
  EXPECT_EQ(store->stats().batches, batches_before + 2);  // the held one, and the nine in one transaction
  expect_consistent("after the batch");
  EXPECT_EQ(query("SELECT count(*) FROM readmodel.task_dependencies WHERE depends_on = '" + to_string(first) + "'")[0][0]
                .as<int>(),
            1);
  EXPECT_EQ(query("SELECT status FROM readmodel.tasks WHERE id = '" + to_string(first) + "'")[0][0].as<std::string>(),
            "in_progress");
  EXPECT_EQ(query("SELECT name FROM readmodel.projects WHERE id = '" + to_string(project) + "'")[0][0].as<std::string>(),
            "renamed");
}

// One batch whose rows of a table outnumber a statement's (ExecuteSink writes them in chunks of
// 32 rows): new tasks with their dependency rows, and upserts of existing rows — every row lands,
// each once, and the read models equal the fold.
TEST_F(InlineProjectorTest, ABatchWritesTablesOfManyRowsInChunks) {
  const Uuid project = create_project();
  const Uuid base = create_task(project, "base");
  std::vector<Uuid> existing;
  for (int i = 0; i < 40; ++i) existing.push_back(create_task(project, "existing " + std::to_string(i)));

  const auto batches_before = store->stats().batches;
  std::vector<std::future<CommandOutcome>> outcomes;
  auto submit = [&](const Command& command) { outcomes.push_back(EngineTest::submit(*engine, command)); };
  constexpr int kNew = 70;  // 32 + 32 + 6 rows of tasks and of dependencies
  hold_writer_while([&] {
    for (int i = 0; i < kNew; ++i)
      submit(CreateTask{.project_id = project, .title = "new " + std::to_string(i), .dependencies = {base}});
    for (const Uuid& task : existing) submit(ClaimTask{.task_id = task, .agent = "agent"});  // 32 + 8 upserts
  });
  for (auto& outcome : outcomes) ASSERT_NO_THROW(outcome.get());
  EXPECT_EQ(store->stats().batches, batches_before + 2);  // the held one, and the 110 commands in one transaction
  expect_consistent("after the batch of many rows");
  EXPECT_EQ(query("SELECT count(*) FROM readmodel.tasks WHERE project_id = '" + to_string(project) + "'")[0][0].as<int>(),
            1 + 40 + kNew);
  EXPECT_EQ(query("SELECT count(*) FROM readmodel.task_dependencies WHERE depends_on = '" + to_string(base) + "'")[0][0]
                .as<int>(),
            kNew);
  EXPECT_EQ(query("SELECT count(*) FROM readmodel.tasks WHERE status = 'in_progress' AND lease_agent = 'agent'")[0][0]
                .as<int>(),
            40);
}

// Task rows read ahead: the first claim of the batch reads the rows every later claim announced.
// A row that another command changed since — a pick that claimed it (candidates are read apart
// from the read-ahead), an archive of its project — is read again: exactly one claim of a task,
// and none in an archived project.
TEST_F(InlineProjectorTest, TaskRowsReadAheadAreReadAgainOnceTheBatchChangedThem) {
  const Uuid project = create_project();
  const Uuid other_project = create_project();
  const Uuid first = create_task(project, "first", {}, Priority::low);
  const Uuid plain = create_task(project, "plain", {}, Priority::low);
  const Uuid best = create_task(project, "best", {}, Priority::critical);  // the one a pick takes
  const Uuid in_archived = create_task(other_project, "in the project archived below", {}, Priority::low);

  std::vector<std::future<CommandOutcome>> outcomes;
  auto submit = [&](const Command& command) { outcomes.push_back(EngineTest::submit(*engine, command)); };
  const auto batches_before = store->stats().batches;
  hold_writer_while([&] {
    submit(ClaimTask{.task_id = first, .agent = "a"});  // reads first, and ahead plain, best, in_archived
    submit(PickNextTask{.project_id = project, .agent = "picker"});  // claims best
    submit(ArchiveProject{.project_id = other_project});
    submit(ClaimTask{.task_id = plain, .agent = "b"});        // its row read ahead still holds
    submit(ClaimTask{.task_id = best, .agent = "c"});         // read ahead before the pick claimed it
    submit(ClaimTask{.task_id = in_archived, .agent = "d"});  // read ahead before the archive
  });
  EXPECT_NO_THROW(outcomes[0].get());
  const CommandOutcome picked = outcomes[1].get();
  ASSERT_FALSE(picked.events.empty());
  EXPECT_EQ(std::get<TaskClaimed>(picked.events.at(0)).task_id, best);
  EXPECT_NO_THROW(outcomes[2].get());
  EXPECT_NO_THROW(outcomes[3].get());
  try {
    outcomes[4].get();
    ADD_FAILURE() << "a task was claimed twice";
  } catch (const DomainError& e) {
    // Refused for what the task is now (the append's version check would refuse a stale read too,
    // but as a conflict the caller could only retry).
    EXPECT_EQ(e.code(), ErrorCode::task_not_ready) << e.what();
  }
  try {
    outcomes[5].get();
    ADD_FAILURE() << "a task of an archived project was claimed";
  } catch (const DomainError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("archived"));
  }
  EXPECT_EQ(query("SELECT lease_agent FROM readmodel.tasks WHERE id = '" + to_string(best) + "'")[0][0].as<std::string>(),
            "picker");
  EXPECT_TRUE(query("SELECT lease_agent FROM readmodel.tasks WHERE id = '" + to_string(in_archived) + "'")[0][0].is_null());
  EXPECT_EQ(store->stats().batches, batches_before + 2);  // the held one, and the six together
  expect_consistent("after the batch that read ahead");
}

// A pick reads its candidates without writing the batch's staged events first, and corrects the
// read with them; it writes them and reads again only when one of them could have readied a task.
TEST_F(InlineProjectorTest, PicksReadCandidatesBeforeTheBatchIsWrittenUnlessItCouldReadyATask) {
  const Uuid project = create_project();
  const Uuid working = create_task(project, "being worked on", {}, Priority::critical);
  const Uuid working_token = claim(working, "worker");
  const Uuid high = create_task(project, "high", {}, Priority::high);
  create_task(project, "low", {}, Priority::low);

  // An agent finishes its task and the next agent picks: the completion only takes its own task
  // out of the picture, so the batch's events are written once, with the commit.
  std::future<CommandOutcome> completed, picked;
  auto inserts = store->stats().inserts;
  hold_writer_while([&] {
    completed = submit(*engine, CompleteTask{.task_id = working, .lease_token = working_token, .summary = "done"});
    picked = submit(*engine, PickNextTask{.project_id = project, .agent = "picker-1"});
  });
  EXPECT_NO_THROW(completed.get());
  EXPECT_EQ(std::get<TaskClaimed>(picked.get().events.at(0)).task_id, high);
  EXPECT_EQ(store->stats().inserts - inserts, 1u);

  // A task created earlier in the batch can be the best one: the staged events are written and
  // the candidates read again.
  std::future<CommandOutcome> created;
  inserts = store->stats().inserts;
  hold_writer_while([&] {
    created = submit(*engine, CreateTask{.project_id = project, .title = "urgent", .priority = Priority::critical});
    picked = submit(*engine, PickNextTask{.project_id = project, .agent = "picker-2"});
  });
  const Uuid urgent = std::get<TaskCreated>(created.get().events.at(0)).task_id;
  EXPECT_EQ(std::get<TaskClaimed>(picked.get().events.at(0)).task_id, urgent);
  EXPECT_EQ(store->stats().inserts - inserts, 2u);

  // So can a task whose last dependency was completed earlier in the batch.
  const Uuid dependency = create_task(project, "dependency", {}, Priority::low);
  const Uuid dependency_token = claim(dependency, "worker");
  const Uuid waiter = create_task(project, "waits for the dependency", {dependency}, Priority::critical);
  hold_writer_while([&] {
    completed = submit(*engine, CompleteTask{.task_id = dependency, .lease_token = dependency_token, .summary = "done"});
    picked = submit(*engine, PickNextTask{.project_id = project, .agent = "picker-3"});
  });
  EXPECT_NO_THROW(completed.get());
  EXPECT_EQ(std::get<TaskClaimed>(picked.get().events.at(0)).task_id, waiter);
  expect_consistent("after picks behind staged events");
}

}  // namespace
}  // namespace tasklog::projections::testing
