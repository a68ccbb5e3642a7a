// Users, tokens and row-level security against PostgreSQL: tokens authenticate until revoked or
// expired and are stored only as hashes; a transaction begun as user A sees, through unfiltered
// SELECTs on every read model table, view and the event log, all of A's rows and none of B's —
// also after the read models were rebuilt into a new schema.
#include "api/auth.hpp"

#include "core/sha256.hpp"
#include "projections/rebuild.hpp"
#include "tests/projections/engine_fixture.hpp"
#include "tests/support/sql.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/uuid/random_generator.hpp>

#include <set>

namespace tasklog::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using tasklog::testing::query_value;
using namespace std::chrono_literals;

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
    const Uuid lease = std::get<TaskClaimed>(as(owner, ClaimTask{.task_id = first, .agent = "agent"}).events.at(0)).lease_token;
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

// The one-round-trip read: the token is signed in and the statement runs as its user by one
// message, with begin_as_user's rules, and nothing outlives that message. Alternating users on one
// connection (as the pool does), each sees only their own projects — also when a statement fails
// halfway or a token is refused — and the connection is back to its own role with no user after
// every call.
TEST_F(RowLevelSecurityTest, OneStatementSignedInSeesOnlyTheirProjectsAndLeavesNothingBehind) {
  pqxx::connection c(db.conninfo());
  const std::string session_user = query_value(db.conninfo(), "SELECT current_user");
  const std::string sql = "SELECT p.id::text FROM readmodel.projects p WHERE $1::text IS NULL OR p.name = $1 ORDER BY 1";
  auto ids = [&](const std::string& token, std::optional<std::string> name) {
    std::vector<std::string> out;
    for (const auto& row : exec_one_signed_in(c, token, sql, {std::move(name)})) out.push_back(row[0].c_str());
    return out;
  };
  auto expect_clean = [&](const std::string& when) {
    pqxx::nontransaction tx(c);
    EXPECT_EQ(tx.exec1("SELECT current_user")[0].as<std::string>(), session_user) << when;
    EXPECT_EQ(tx.exec1("SELECT coalesce(current_setting('tasklog.user_id', true), '')")[0].as<std::string>(), "") << when;
    EXPECT_EQ(tx.exec1("SELECT current_setting('transaction_read_only')")[0].as<std::string>(), "off") << when;
  };
  auto expect_refused = [&](const std::string& token, const std::string& when) {
    try {
      ids(token, std::nullopt);
      ADD_FAILURE() << when << ": the token signed in";
    } catch (const DomainError& e) {
      EXPECT_EQ(e.code(), ErrorCode::unauthorized) << when;
      EXPECT_STREQ(e.what(), kUnknownTokenMessage) << when;
    }
    expect_clean(when);
  };
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(ids(alice_token, std::nullopt), std::vector<std::string>{to_string(alices_project)});
    expect_clean("after alice");
    EXPECT_EQ(ids(bob_token, std::nullopt), std::vector<std::string>{to_string(bobs_project)});
    EXPECT_EQ(ids(bob_token, "alice's"), std::vector<std::string>{});  // exists, but not bob's
    EXPECT_EQ(ids(carol_token, std::nullopt), std::vector<std::string>{});
    expect_clean("after bob and carol");
  }
  // A quote in a parameter is data, not SQL.
  EXPECT_EQ(ids(alice_token, "x'); DELETE FROM readmodel.projects; --"), std::vector<std::string>{});
  // Read-only, and a statement that fails leaves the connection clean as well.
  EXPECT_THROW(exec_one_signed_in(c, alice_token, "SELECT 1/0", {}), pqxx::sql_error);
  expect_clean("after a failed statement");
  EXPECT_THROW(exec_one_signed_in(c, alice_token, "SELECT count(*) FROM auth.api_tokens", {}),
               pqxx::insufficient_privilege);
  expect_clean("after a refused statement");

  // Tokens that do not sign in: refused before the statement runs, whatever it would have read.
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
  EXPECT_EQ(ids(alice_token, std::nullopt), std::vector<std::string>{to_string(alices_project)});
  expect_clean("at the end");
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
