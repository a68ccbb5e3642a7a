// Users, tokens and row-level security against PostgreSQL: tokens authenticate until revoked or
// expired and are stored only as hashes; a transaction begun as user A sees, through unfiltered
// SELECTs on every read model table, view and the event log, all of A's rows and none of B's —
// also after the read models were rebuilt into a new schema.
#include "api/auth.hpp"
#include "api/task_json.hpp"

#include "core/codec.hpp"
#include "core/sha256.hpp"
#include "core/time.hpp"
#include "projections/read_model_store.hpp"
#include "projections/rebuild.hpp"
#include "tests/projections/engine_fixture.hpp"
#include "tests/support/sql.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/uuid/random_generator.hpp>
#include <rapidjson/document.h>

#include <set>

namespace tasklog::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using tasklog::testing::query_value;
using namespace std::chrono_literals;

// GET /v1/tasks/{id}'s read of one task (a call of tasklog_read_tasks with one id).
pqxx::result read_task_signed_in(pqxx::connection& c, const std::string& token, const Uuid& task) {
  return read_tasks_signed_in(c, token_hash(token), {task});
}

Timestamp now() { return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()); }

class AuthTest : public ::testing::Test {
 protected:
  tasklog::testing::TestDatabase db;
  pqxx::connection c{db.conninfo()};
};

TEST_F(AuthTest, CreatedUserAuthenticatesWithItsToken) {
  const auto [user, token] = create_user(c, "Alice@Example.com", "Alice");
  EXPECT_EQ(user.email, "Alice@Example.com");
  EXPECT_FALSE(user.admin);
  EXPECT_EQ(token.record.user_id, user.id);
  EXPECT_EQ(token.record.name, "default");
  EXPECT_FALSE(token.record.expires_at);
  EXPECT_FALSE(token.record.revoked_at);
  ASSERT_EQ(token.secret.size(), 46u);
  EXPECT_EQ(token.secret.substr(0, 3), "tl_");
  EXPECT_EQ(token.secret.find_first_not_of(
                "tl_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-", 3),
            std::string::npos)
      << token.secret;

  const auto principal = authenticate(c, token.secret);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->user_id, user.id);
  EXPECT_EQ(principal->name, "Alice");
  EXPECT_FALSE(principal->admin);

  EXPECT_EQ(find_user(c, user.id)->email, "Alice@Example.com");
  EXPECT_EQ(find_user_by_email(c, "alice@EXAMPLE.com")->id, user.id);
  EXPECT_FALSE(find_user_by_email(c, "bob@example.com"));
  EXPECT_FALSE(find_user(c, derived_uuid("nobody")));

  const auto [admin, admin_token] = create_user(c, "root@example.com", "Root", true);
  EXPECT_TRUE(authenticate(c, admin_token.secret)->admin);
  EXPECT_NE(admin_token.secret, token.secret);
}

TEST_F(AuthTest, StoredRowHoldsOnlyTheHash) {
  const auto [user, token] = create_user(c, "alice@example.com", "Alice");
  EXPECT_EQ(query_value(db.conninfo(), "SELECT token_hash FROM auth.api_tokens WHERE id = '" +
                                           to_string(token.record.id) + "'"),
            to_hex(sha256(token.secret)));
  // No column holds the secret or any recognizable part of it.
  const std::string rows = query_value(db.conninfo(), "SELECT string_agg(t::text, ' ') FROM auth.api_tokens t");
  EXPECT_THAT(rows, Not(HasSubstr(token.secret.substr(3, 16))));
  EXPECT_THAT(rows, Not(HasSubstr(token.secret.substr(30))));
}

TEST_F(AuthTest, WrongRevokedOrExpiredTokensDoNotAuthenticate) {
  const auto [alice, first] = create_user(c, "alice@example.com", "Alice");
  const auto [bob, bobs] = create_user(c, "bob@example.com", "Bob");

  // Wrong: another well-formed token, a changed character, garbage, empty.
  EXPECT_FALSE(authenticate(c, "tl_" + std::string(43, 'A')));
  std::string changed = first.secret;
  changed.back() = changed.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(authenticate(c, changed));
  EXPECT_FALSE(authenticate(c, first.secret + "x"));
  EXPECT_FALSE(authenticate(c, "Bearer " + first.secret));
  EXPECT_FALSE(authenticate(c, ""));
  EXPECT_FALSE(authenticate(c, to_hex(sha256(first.secret))));  // the stored hash is not a credential

  // Revoked.
  const NewToken second = create_token(c, alice.id, "ci");
  EXPECT_EQ(authenticate(c, second.secret)->user_id, alice.id);
  revoke_token(c, alice.id, second.record.id);
  EXPECT_FALSE(authenticate(c, second.secret));
  EXPECT_EQ(authenticate(c, first.secret)->user_id, alice.id);  // the other token still works
  revoke_token(c, alice.id, second.record.id);                  // twice is harmless
  try {
    revoke_token(c, bob.id, first.record.id);  // one of another user
    ADD_FAILURE() << "revoked another user's token";
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
  }
  EXPECT_TRUE(authenticate(c, first.secret));
  EXPECT_THROW(revoke_token(c, alice.id, derived_uuid("no such token")), DomainError);
  EXPECT_THROW(create_token(c, derived_uuid("no such user"), "x"), DomainError);

  // Expired, and not yet expired.
  const NewToken expired = create_token(c, alice.id, "old", now() - 1s);
  const NewToken later = create_token(c, alice.id, "new", now() + 1h);
  EXPECT_FALSE(authenticate(c, expired.secret));
  EXPECT_EQ(authenticate(c, later.secret)->user_id, alice.id);

  const auto tokens = list_tokens(c, alice.id);
  ASSERT_EQ(tokens.size(), 4u);
  std::map<std::string, TokenRecord> by_name;
  for (const auto& t : tokens) by_name[t.name] = t;
  EXPECT_FALSE(by_name.at("default").revoked_at);
  ASSERT_TRUE(by_name.at("ci").revoked_at);
  EXPECT_GE(*by_name.at("ci").revoked_at, by_name.at("ci").created_at);
  ASSERT_TRUE(by_name.at("new").expires_at);
  EXPECT_LT(std::chrono::abs(*by_name.at("new").expires_at - (now() + 1h)), 1min);
  EXPECT_EQ(find_token(c, second.record.id)->user_id, alice.id);
  EXPECT_FALSE(find_token(c, derived_uuid("no such token")));
  EXPECT_EQ(list_tokens(c, bob.id).size(), 1u);
}

// Found by the operator review: " d@x " was stored with its spaces (found by nobody; "d@x" could
// be created beside it), and "notanemail" was taken.
TEST_F(AuthTest, EmailsAreTrimmedAndMustLookLikeOne) {
  const auto [user, token] = create_user(c, "  Dora@Example.com\t", "Dora");
  EXPECT_EQ(user.email, "Dora@Example.com");
  ASSERT_TRUE(find_user_by_email(c, " dora@example.com "));
  EXPECT_EQ(find_user_by_email(c, " dora@example.com ")->id, user.id);
  for (const char* bad : {"notanemail", "@example.com", "dora@", "do ra@example.com", "   "}) {
    try {
      create_user(c, bad, "X");
      ADD_FAILURE() << "created a user with email '" << bad << "'";
    } catch (const DomainError& e) {
      EXPECT_EQ(e.code(), ErrorCode::validation_failed) << bad;
    }
  }
  EXPECT_THROW(create_user(c, "dora@example.com ", "Dora again"), DomainError);
  EXPECT_EQ(query_value(db.conninfo(), "SELECT count(*) FROM auth.users"), "1");
}

TEST_F(AuthTest, DuplicateEmailIsRefusedWhateverItsCase) {
  create_user(c, "Alice@Example.com", "Alice");
  try {
    create_user(c, "alice@example.COM", "Another Alice");
    ADD_FAILURE() << "a second user with the same email was created";
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation_failed);
    EXPECT_THAT(e.what(), HasSubstr("alice@example.COM"));
  }
  EXPECT_EQ(query_value(db.conninfo(), "SELECT count(*) FROM auth.users"), "1");
  EXPECT_EQ(query_value(db.conninfo(), "SELECT count(*) FROM auth.api_tokens"), "1");
}

TEST_F(AuthTest, BootstrapAdminOnlyOnAnEmptyDatabase) {
  const auto token = bootstrap_admin(c);
  ASSERT_TRUE(token);
  const auto principal = authenticate(c, token->secret);
  ASSERT_TRUE(principal);
  EXPECT_TRUE(principal->admin);
  EXPECT_EQ(find_user(c, principal->user_id)->email, "admin@localhost");
  EXPECT_FALSE(bootstrap_admin(c));
  EXPECT_EQ(query_value(db.conninfo(), "SELECT count(*) FROM auth.users"), "1");
}

// ---- row-level security ----

// Every relation of the read models with the column that names its project.
struct Relation {
  std::string name;            // e.g. "readmodel.tasks", "events"
  std::string project_column;  // "id" for projects
};

const std::vector<Relation>& scoped_relations() {
  static const std::vector<Relation> relations{
      {"readmodel.projects", "id"},          {"readmodel.project_members", "project_id"},
      {"readmodel.tasks", "project_id"},     {"readmodel.task_dependencies", "project_id"},
      {"readmodel.artifacts", "project_id"}, {"readmodel.checkpoints", "project_id"},
      {"readmodel.decisions", "project_id"}, {"readmodel.task_messages", "project_id"},
      {"readmodel.active_tasks", "project_id"}, {"readmodel.ready_tasks", "project_id"},
      {"readmodel.task_progress", "project_id"}, {"readmodel.recent_events", "project_id"},
      {"events", "project_id"}};
  return relations;
}

class RowLevelSecurityTest : public projections::testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    pqxx::connection c(db.conninfo());
    std::tie(alice, alice_token) = user(c, "alice@example.com", "Alice");
    std::tie(bob, bob_token) = user(c, "bob@example.com", "Bob");
    std::tie(carol, carol_token) = user(c, "carol@example.com", "Carol");
    alices_project = populate(alice, "alice's");
    bobs_project = populate(bob, "bob's");
  }

  static std::pair<Uuid, std::string> user(pqxx::connection& c, const std::string& email, const std::string& name) {
    auto [record, token] = create_user(c, email, name);
    return {record.id, token.secret};
  }

  projections::CommandOutcome as(const Uuid& user, const Command& command) {
    auto outcome = engine->execute(command, user);
    expect_consistent(std::string(command_name(command)));
    return outcome;
  }

  // A project with a row in every read model table.
  Uuid populate(const Uuid& owner, const std::string& name) {
    const Uuid project = std::get<ProjectCreated>(as(owner, CreateProject{.project_name = name}).events.at(0)).project_id;
    const Uuid first = std::get<TaskCreated>(as(owner, CreateTask{.project_id = project, .title = "first"}).events.at(0)).task_id;
    as(owner, CreateTask{.project_id = project, .title = "second", .dependencies = {first}});
    as(owner, CreateTask{.project_id = project, .title = "ready"});  // so that ready_tasks has a row
    const Uuid lease = *as(owner, ClaimTask{.task_id = first, .agent = "agent"}).lease_token;
    as(owner, AppendArtifact{.task_id = first, .type = ArtifactType::diff, .ref = "a.diff", .summary = "a diff",
                             .lease_token = lease});
    as(owner, AppendMessage{.task_id = first, .role = MessageRole::assistant, .content = "working", .lease_token = lease});
    as(owner, CreateCheckpoint{.project_id = project, .label = "cp", .summary = "state"});
    as(owner, RecordDecision{.project_id = project, .title = "db", .choice = "postgres", .rationale = "it is there"});
    return project;
  }

  // The project ids of every row an unfiltered SELECT * returns, run as `user` (none: no user set).
  std::multiset<std::string> visible(const std::optional<Uuid>& user, const Relation& relation) {
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    if (user) begin_as_user(tx, *user);
    else tx.exec0("SET LOCAL ROLE tasklog_query");
    std::multiset<std::string> projects;
    for (const auto& row : tx.exec("SELECT * FROM " + relation.name)) projects.insert(row[relation.project_column].c_str());
    return projects;
  }

  // The same as the owner of the tables (not subject to row-level security), for one project.
  std::size_t rows_of(const Relation& relation, const Uuid& project) {
    return std::stoul(query_value(db.conninfo(), "SELECT count(*) FROM " + relation.name + " WHERE " +
                                                     relation.project_column + " = '" + to_string(project) + "'"));
  }

  // As `user`, each relation shows exactly the rows of `projects`.
  void expect_sees_exactly(const Uuid& user, const std::set<Uuid>& projects, const std::string& when) {
    for (const auto& relation : scoped_relations()) {
      const auto seen = visible(user, relation);
      std::size_t expected = 0;
      for (const auto& project : projects) {
        const std::size_t rows = rows_of(relation, project);
        EXPECT_GT(rows, 0u) << relation.name << ": the test wrote no row of project " << to_string(project);
        EXPECT_EQ(seen.count(to_string(project)), rows) << when << ": " << relation.name;
        expected += rows;
      }
      EXPECT_EQ(seen.size(), expected) << when << ": " << relation.name << " shows rows of other projects";
    }
  }

  std::optional<std::string> role_of(const Uuid& user, const Uuid& project) {
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    begin_as_user(tx, user);
    return project_role(tx, project);
  }

  Uuid alice{}, bob{}, carol{};
  std::string alice_token, bob_token, carol_token;
  Uuid alices_project{}, bobs_project{};
};

TEST_F(RowLevelSecurityTest, UnfilteredSelectsSeeOnlyTheUsersProjects) {
  expect_sees_exactly(alice, {alices_project}, "alice");
  expect_sees_exactly(bob, {bobs_project}, "bob");
  expect_sees_exactly(carol, {}, "carol, member of nothing");
  for (const auto& relation : scoped_relations())
    EXPECT_TRUE(visible(std::nullopt, relation).empty()) << "no user set: " << relation.name;

  // Membership opens a project; removing it closes it again.
  as(alice, AddMember{.project_id = alices_project, .user_id = carol, .role = Role::viewer});
  expect_sees_exactly(carol, {alices_project}, "carol, viewer of alice's project");
  as(alice, AddMember{.project_id = alices_project, .user_id = bob, .role = Role::member});
  expect_sees_exactly(bob, {alices_project, bobs_project}, "bob, member of alice's project");
  expect_sees_exactly(alice, {alices_project}, "alice, still not in bob's project");
  as(alice, RemoveMember{.project_id = alices_project, .user_id = bob});
  expect_sees_exactly(bob, {bobs_project}, "bob, removed from alice's project");
}

TEST_F(RowLevelSecurityTest, ProjectRoleOfTheCurrentUser) {
  as(alice, AddMember{.project_id = alices_project, .user_id = bob, .role = Role::member});
  as(alice, AddMember{.project_id = alices_project, .user_id = carol, .role = Role::viewer});
  EXPECT_EQ(role_of(alice, alices_project), "owner");
  EXPECT_EQ(role_of(bob, alices_project), "member");
  EXPECT_EQ(role_of(carol, alices_project), "viewer");
  EXPECT_EQ(role_of(bob, bobs_project), "owner");
  EXPECT_EQ(role_of(alice, bobs_project), std::nullopt);  // exists, but not alice's: as unknown
  EXPECT_EQ(role_of(alice, derived_uuid("no such project")), std::nullopt);
}

TEST_F(RowLevelSecurityTest, QueryRoleOnlyReadsAndNothingOutlivesTheTransaction) {
  pqxx::connection c(db.conninfo());
  const std::string session_user = query_value(db.conninfo(), "SELECT current_user");
  {
    pqxx::work tx(c);
    begin_as_user(tx, alice);
    EXPECT_EQ(tx.exec1("SELECT current_user")[0].as<std::string>(), "tasklog_query");
    EXPECT_THROW(tx.exec0("DELETE FROM readmodel.tasks"), pqxx::insufficient_privilege);
  }
  {
    pqxx::work tx(c);
    begin_as_user(tx, alice);
    EXPECT_THROW(tx.exec0("SELECT * FROM auth.api_tokens"), pqxx::insufficient_privilege);
  }
  {
    pqxx::work tx(c);
    begin_as_user(tx, alice);
    EXPECT_THROW(tx.exec0("INSERT INTO events SELECT * FROM events LIMIT 1"), pqxx::insufficient_privilege);
  }
  {
    pqxx::work tx(c);
    begin_as_user(tx, alice);
    tx.exec("SELECT count(*) FROM readmodel.tasks");
    tx.commit();
  }
  // The next user of this (pooled) connection is back to the connection's own role and no user.
  pqxx::work tx(c);
  EXPECT_EQ(tx.exec1("SELECT current_user")[0].as<std::string>(), session_user);
  EXPECT_EQ(tx.exec1("SELECT coalesce(current_setting('tasklog.user_id', true), '')")[0].as<std::string>(), "");
}

// The one-statement read of GET /v1/tasks/{id} (migrations/0008 tasklog_read_tasks): the token is
// signed in and the task read as its user with begin_as_user's rules, and nothing outlives the
// statement. Alternating users on one connection (as the pool does), each reads only the tasks of
// their own projects — also right after a token is refused — and the connection is back to its
// own role, no user and read-write after every call.
TEST_F(RowLevelSecurityTest, TheSignedInTaskReadSeesOnlyTheirTasksAndLeavesNothingBehind) {
  pqxx::connection c(db.conninfo());
  const std::string session_user = query_value(db.conninfo(), "SELECT current_user");
  auto tasks_of = [&](const Uuid& project) {
    std::vector<Uuid> out;
    for (const auto& row : pqxx::nontransaction(c).exec_params(
             "SELECT id FROM readmodel.tasks WHERE project_id = $1 ORDER BY title", to_string(project)))
      out.push_back(*parse_uuid(row[0].c_str()));
    return out;
  };
  const auto alices_tasks = tasks_of(alices_project);
  const auto bobs_tasks = tasks_of(bobs_project);
  ASSERT_EQ(alices_tasks.size(), 3u);
  auto reads = [&](const std::string& token, const Uuid& task) { return read_task_signed_in(c, token, task).size() == 1; };
  auto expect_clean = [&](const std::string& when) {
    pqxx::nontransaction tx(c);
    EXPECT_EQ(tx.exec1("SELECT current_user")[0].as<std::string>(), session_user) << when;
    EXPECT_EQ(tx.exec1("SELECT coalesce(current_setting('tasklog.user_id', true), '')")[0].as<std::string>(), "") << when;
    EXPECT_EQ(tx.exec1("SELECT current_setting('transaction_read_only')")[0].as<std::string>(), "off") << when;
  };
  auto expect_refused = [&](const std::string& token, const std::string& when) {
    try {
      read_task_signed_in(c, token, alices_tasks[0]);
      ADD_FAILURE() << when << ": the token signed in";
    } catch (const DomainError& e) {
      EXPECT_EQ(e.code(), ErrorCode::unauthorized) << when;
      EXPECT_STREQ(e.what(), kUnknownTokenMessage) << when;
    }
    expect_clean(when);
  };
  for (int round = 0; round < 3; ++round) {
    for (const auto& task : alices_tasks) {
      EXPECT_TRUE(reads(alice_token, task));
      EXPECT_FALSE(reads(bob_token, task));  // exists, but not bob's
      EXPECT_FALSE(reads(carol_token, task));
    }
    expect_clean("after alice, bob and carol");
    for (const auto& task : bobs_tasks) {
      EXPECT_TRUE(reads(bob_token, task));
      EXPECT_FALSE(reads(alice_token, task));
    }
    EXPECT_FALSE(reads(alice_token, *parse_uuid("00000000-0000-4000-8000-000000000000")));  // no such task
    expect_clean("after bob");
  }

  // The function's columns are api/task_json.hpp's, in its order, and read the same values as the
  // server's own select of them (task_columns_sql): a task with a lease, a dependency, an artifact
  // and a message, and tasks without.
  for (const auto& task : alices_tasks) {
    const auto signed_in = read_task_signed_in(c, alice_token, task);
    ASSERT_EQ(signed_in.columns(), kTaskColumns.size());
    for (std::size_t i = 0; i < kTaskColumns.size(); ++i)
      EXPECT_EQ(signed_in.column_name(static_cast<pqxx::row::size_type>(i)), kTaskColumns[i].name);
    const auto own = pqxx::nontransaction(c).exec_params(
        "SELECT " + task_columns_sql() + " FROM readmodel.tasks t WHERE t.id = $1", to_string(task));
    ASSERT_EQ(own.size(), 1u);
    EXPECT_EQ(task_json(signed_in[0]), task_json(own[0]));
    for (std::size_t i = 0; i < kTaskColumns.size(); ++i) {
      const auto n = static_cast<pqxx::row::size_type>(i);
      EXPECT_EQ(signed_in[0][n].is_null(), own[0][n].is_null()) << kTaskColumns[i].name;
      EXPECT_EQ(std::string(signed_in[0][n].c_str()), std::string(own[0][n].c_str())) << kTaskColumns[i].name;
    }
  }

  // One call with many ids (the reads TaskReads gathers): each user gets exactly the rows of the
  // tasks they may see among them, one per task even when an id is asked twice.
  std::vector<Uuid> everything = alices_tasks;
  everything.insert(everything.end(), bobs_tasks.begin(), bobs_tasks.end());
  everything.push_back(*parse_uuid("00000000-0000-4000-8000-000000000000"));
  everything.push_back(alices_tasks[0]);
  auto ids_read = [&](const std::string& token) {
    std::set<std::string> ids;
    const auto rows = read_tasks_signed_in(c, token_hash(token), everything);
    for (const auto& row : rows) ids.insert(row["id"].c_str());
    EXPECT_EQ(ids.size(), rows.size()) << "a task came twice";
    return ids;
  };
  auto as_text = [](const std::vector<Uuid>& ids) {
    std::set<std::string> out;
    for (const auto& id : ids) out.insert(to_string(id));
    return out;
  };
  EXPECT_EQ(ids_read(alice_token), as_text(alices_tasks));
  EXPECT_EQ(ids_read(bob_token), as_text(bobs_tasks));
  EXPECT_TRUE(ids_read(carol_token).empty());
  expect_clean("after the calls with many ids");

  // Tokens that do not sign in: refused before anything is read.
  expect_refused("tl_" + std::string(43, 'A'), "an unknown token");
  expect_refused("not a token at all", "a token of another shape");
  std::string quoted = alice_token;
  quoted[10] = '\'';
  expect_refused(quoted, "a token with a quote in it");
  const auto tokens = list_tokens(c, bob);
  ASSERT_EQ(tokens.size(), 1u);
  revoke_token(c, bob, tokens[0].id);
  expect_refused(bob_token, "bob's token, revoked");  // at once: nothing is cached
  const NewToken expired = create_token(c, carol, "expired", std::chrono::time_point_cast<std::chrono::microseconds>(
                                                                 std::chrono::system_clock::now()) - std::chrono::seconds(1));
  expect_refused(expired.secret, "an expired token");
  EXPECT_TRUE(reads(alice_token, alices_tasks[0]));
  expect_clean("at the end");
}

// Every key of a task's JSON (api/task_json.cpp, from columns) says what the read model holds for
// it, read back independently as a TaskState (projections/column_values), and the JSON written from
// that TaskState (a command's answer) is the same object: a task with every field
// set and tasks that failed, were blocked, cancelled and completed — so that a column read under
// the wrong key, or a timestamp, number or null written wrongly, fails here.
TEST_F(RowLevelSecurityTest, TheTaskJsonSaysWhatTheReadModelHolds) {
  const Uuid parent = std::get<TaskCreated>(as(alice, CreateTask{.project_id = alices_project, .title = "parent"})
                                                .events.at(0)).task_id;
  const Uuid dep = std::get<TaskCreated>(as(alice, CreateTask{.project_id = alices_project, .title = "dep"}).events.at(0))
                       .task_id;
  auto create = [&](const std::string& title) {
    return std::get<TaskCreated>(as(alice, CreateTask{.project_id = alices_project,
                                                      .title = title,
                                                      .description = "with \"quotes\", a \\ and ünïcode\n",
                                                      .type = "bug",
                                                      .priority = Priority::critical,
                                                      .acceptance_criteria = {"builds", "tests pass"},
                                                      .constraints = {"no new deps"},
                                                      .dependencies = {dep},
                                                      .parent_task_id = parent,
                                                      .timebox_seconds = 900})
                                     .events.at(0))
        .task_id;
  };
  auto claim = [&](const Uuid& task) {
    return *as(alice, ClaimTask{.task_id = task, .agent = "agent-7"}).lease_token;
  };
  as(alice, CompleteTask{.task_id = dep, .lease_token = claim(dep), .summary = "dep done"});

  const Uuid rich = create("rich");
  const Uuid lease = claim(rich);
  as(alice, RecordGitInfo{.task_id = rich,
                          .git = {.branch = "feat/x", .pr_number = 42, .commit_hash = "abc123"},
                          .lease_token = lease});
  as(alice, RecordUsage{.task_id = rich, .tokens = 12345, .cost_usd = 0.1, .lease_token = lease});
  as(alice, RecordUsage{.task_id = rich, .tokens = 5, .cost_usd = 1e-05, .lease_token = lease});
  const Uuid artifact = std::get<ArtifactAppended>(as(alice, AppendArtifact{.task_id = rich, .type = ArtifactType::diff,
                                                                           .ref = "a.diff", .summary = "d",
                                                                           .lease_token = lease})
                                                       .events.at(0))
                            .artifact_id;
  as(alice, AppendMessage{.task_id = rich, .role = MessageRole::assistant, .content = "hi", .lease_token = lease});
  as(alice, MarkCriterionMet{.task_id = rich, .index = 1, .evidence = "ci", .lease_token = lease});
  as(alice, AssertScope{.task_id = rich, .files_changed = {"src/a.cpp"}, .lease_token = lease});
  as(alice, EvaluateGates{.task_id = rich, .lease_token = lease});

  const Uuid failed = create("failed");
  as(alice, FailTask{.task_id = failed, .lease_token = claim(failed), .error = "it broke"});
  const Uuid blocked = create("blocked");
  as(alice, BlockTask{.task_id = blocked, .reason = "needs a key", .needs_human = true});
  const Uuid cancelled = create("cancelled");
  as(alice, CancelTask{.task_id = cancelled, .reason = "not needed"});
  const Uuid done = create("done");
  const Uuid done_lease = claim(done);
  const Uuid result = std::get<ArtifactAppended>(as(alice, AppendArtifact{.task_id = done, .type = ArtifactType::pr,
                                                                         .ref = "pr/1", .summary = "the pr",
                                                                         .lease_token = done_lease})
                                                     .events.at(0))
                          .artifact_id;
  as(alice, CompleteTask{.task_id = done, .lease_token = done_lease, .summary = "shipped", .artifact_ids = {result}});

  auto parse = [](const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
  };
  pqxx::connection c(db.conninfo());
  for (const Uuid& id : {rich, failed, blocked, cancelled, done, parent}) {
    const auto rows = read_task_signed_in(c, alice_token, id);
    ASSERT_EQ(rows.size(), 1u);
    const std::string text = task_json(rows[0]);
    const auto json = parse(text);
    std::optional<TaskState> state;
    {
      pqxx::work tx(c);
      state = projections::load_task(tx, id);
    }
    ASSERT_TRUE(state);
    const TaskState& t = *state;
    SCOPED_TRACE(t.title + ": " + text);
    // A command's answer writes the same object from the TaskState its events left (no read back).
    EXPECT_EQ(parse(task_json(t)), json) << task_json(t);
    auto str = [&](const char* key) { return std::string(json[key].GetString()); };
    auto ts = [](const std::optional<Timestamp>& v) { return v ? format_timestamp(*v) : std::string("null"); };
    auto ts_at = [&](const rapidjson::Value& v) { return v.IsNull() ? std::string("null") : std::string(v.GetString()); };
    auto same_json = [&](const char* key, const std::string& expected) {
      EXPECT_EQ(json[key], parse(expected)) << key << " expected " << expected;
    };
    ASSERT_EQ(json.MemberCount(), 34u);
    EXPECT_EQ(str("id"), to_string(t.id));
    EXPECT_EQ(str("project_id"), to_string(t.project_id));
    EXPECT_EQ(str("title"), t.title);
    EXPECT_EQ(str("description"), t.description);
    EXPECT_EQ(str("type"), t.type);
    EXPECT_EQ(str("priority"), enum_name(t.priority));
    EXPECT_EQ(str("status"), enum_name(t.status));
    EXPECT_EQ(json["version"].GetInt64(), t.version);
    if (t.lease) {
      EXPECT_EQ(std::string(json["lease"]["agent"].GetString()), t.lease->agent);
      EXPECT_EQ(ts_at(json["lease"]["acquired_at"]), format_timestamp(t.lease->acquired_at));
      EXPECT_EQ(ts_at(json["lease"]["expires_at"]), format_timestamp(t.lease->expires_at));
      EXPECT_EQ(json["lease"]["attempt"].GetInt64(), t.lease->attempt);
      EXPECT_EQ(json["lease"].MemberCount(), 4u);  // never the token
    } else {
      EXPECT_TRUE(json["lease"].IsNull());
    }
    EXPECT_EQ(json["attempts"].GetInt64(), t.attempts);
    EXPECT_EQ(ts_at(json["next_retry_at"]), ts(t.next_retry_at));
    same_json("acceptance_criteria", to_json_text(t.acceptance_criteria));
    same_json("constraints", to_json_text(t.constraints));
    same_json("dependencies", to_json_text(t.dependencies));
    if (t.parent_task_id)
      EXPECT_EQ(str("parent_task_id"), to_string(*t.parent_task_id));
    else
      EXPECT_TRUE(json["parent_task_id"].IsNull());
    if (t.timebox_seconds)
      EXPECT_EQ(json["timebox_seconds"].GetInt64(), *t.timebox_seconds);
    else
      EXPECT_TRUE(json["timebox_seconds"].IsNull());
    same_json("git", to_json_text(t.git));
    EXPECT_EQ(json["usage"]["tokens"].GetInt64(), t.usage.tokens);
    EXPECT_EQ(json["usage"]["cost_usd"].GetDouble(), t.usage.cost_usd);
    same_json("gate_results", to_json_text(t.gate_results));
    EXPECT_EQ(ts_at(json["gates_evaluated_at"]), ts(t.gates_evaluated_at));
    if (t.last_scope_check)
      same_json("last_scope_check", to_json_text(*t.last_scope_check));
    else
      EXPECT_TRUE(json["last_scope_check"].IsNull());
    same_json("artifacts", to_json_text(t.artifacts));
    EXPECT_EQ(json["message_count"].GetInt64(), t.message_count);
    EXPECT_EQ(str("completion_summary"), t.completion_summary);
    same_json("result_artifact_ids", to_json_text(t.result_artifact_ids));
    auto optional_text = [&](const char* key, const std::optional<std::string>& v) {
      if (v)
        EXPECT_EQ(str(key), *v) << key;
      else
        EXPECT_TRUE(json[key].IsNull()) << key;
    };
    optional_text("failure_reason", t.failure_reason);
    optional_text("block_reason", t.block_reason);
    optional_text("cancel_reason", t.cancel_reason);
    EXPECT_EQ(json["needs_human"].GetBool(), t.needs_human);
    EXPECT_EQ(str("created_by"), to_string(t.created_by));
    EXPECT_EQ(str("created_at"), format_timestamp(t.created_at));
    EXPECT_EQ(str("updated_at"), format_timestamp(t.updated_at));
    EXPECT_EQ(ts_at(json["started_at"]), ts(t.started_at));
    EXPECT_EQ(ts_at(json["completed_at"]), ts(t.completed_at));
  }
  // The values above are not defaults: each task really carries what it was given.
  const auto rich_json = parse(task_json(read_task_signed_in(c, alice_token, rich)[0]));
  EXPECT_EQ(rich_json["usage"]["tokens"].GetInt64(), 12350);
  EXPECT_EQ(rich_json["usage"]["cost_usd"].GetDouble(), 0.1 + 1e-05);
  EXPECT_EQ(std::string(rich_json["git"]["branch"].GetString()), "feat/x");
  EXPECT_EQ(std::string(rich_json["artifacts"][0]["id"].GetString()), to_string(artifact));
  EXPECT_EQ(std::string(rich_json["dependencies"][0].GetString()), to_string(dep));
  EXPECT_FALSE(rich_json["lease"].IsNull());
  EXPECT_FALSE(rich_json["gates_evaluated_at"].IsNull());
  EXPECT_TRUE(rich_json["last_scope_check"]["in_scope"].GetBool());
  EXPECT_TRUE(rich_json["acceptance_criteria"][1]["met"].GetBool());
  const auto done_json = parse(task_json(read_task_signed_in(c, alice_token, done)[0]));
  EXPECT_EQ(std::string(done_json["result_artifact_ids"][0].GetString()), to_string(result));
}

TEST_F(RowLevelSecurityTest, RebuiltReadModelsStillEnforceIt) {
  const auto report = projections::rebuild_read_models(db.conninfo());
  EXPECT_EQ(report.swapped_at, head());
  expect_consistent("after the rebuild");
  // Every table of the new schema has row-level security, every view runs as its caller.
  EXPECT_EQ(query_value(db.conninfo(),
                        "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = "
                        "'readmodel'::regnamespace AND ((relkind = 'r' AND NOT relrowsecurity) OR (relkind = 'v' AND "
                        "NOT coalesce('security_invoker=true' = ANY (reloptions), false)))"),
            "");
  expect_sees_exactly(alice, {alices_project}, "alice after the rebuild");
  expect_sees_exactly(bob, {bobs_project}, "bob after the rebuild");
  // The engine (tasklog_app) still writes the rebuilt tables, and membership still opens projects.
  as(alice, AddMember{.project_id = alices_project, .user_id = carol, .role = Role::member});
  expect_sees_exactly(carol, {alices_project}, "carol after the rebuild");
  EXPECT_EQ(role_of(carol, alices_project), "member");
}

}  // namespace
}  // namespace tasklog::api
