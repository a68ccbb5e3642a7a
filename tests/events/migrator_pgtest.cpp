// The migrations runner against real PostgreSQL: applying, re-running, refusing edited or unknown
// history, rolling back a failing file, and exactly-once under concurrent migrators (threads and
// `tasklog migrate` processes).
#include "events/child_process.hpp"
#include "events/migrator.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/test_cluster.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <barrier>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace tasklog::events {
namespace {

using ::testing::HasSubstr;
using tasklog::testing::TestDatabase;

std::vector<std::string> applied_rows(const TestDatabase& db) {
  pqxx::connection conn{db.conninfo()};
  pqxx::read_transaction tx{conn};
  std::vector<std::string> rows;
  for (const auto& row : tx.exec("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")) {
    rows.push_back(row[0].as<std::string>() + " " + row[1].as<std::string>() + " " + row[2].as<std::string>() + " " +
                   row[3].as<std::string>());
  }
  return rows;
}

long long count(const TestDatabase& db, const std::string& sql) {
  return std::stoll(tasklog::testing::query_value(db.conninfo(), sql));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const MigrationError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a MigrationError";
  return {};
}

// Each migration logs itself in applied_log, so a migration applied twice shows as a duplicate row
// (nothing in its SQL would fail the second time). pg_sleep widens the window for races.
std::vector<Migration> logging_migrations(int n) {
  std::vector<Migration> list{{1, "0001_applied_log.sql", "CREATE TABLE applied_log (version int NOT NULL);"
                                                           "INSERT INTO applied_log VALUES (1);"}};
  for (int v = 2; v <= n; ++v) {
    list.push_back({v, "000" + std::to_string(v) + "_step.sql",
                    "SELECT pg_sleep(0.02); INSERT INTO applied_log VALUES (" + std::to_string(v) + ");"});
  }
  return list;
}

TEST(EmbeddedMigrations, AreTheMigrationFilesByteForByteInVersionOrder) {
  const auto migrations = embedded_migrations();
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations.front().version, 1);
  EXPECT_EQ(migrations.front().name, "0001_event_log.sql");
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(migrations[i - 1].version, migrations[i].version);
    }
    EXPECT_EQ(migrations[i].sql, read_file(std::string(TASKLOG_SOURCE_DIR) + "/migrations/" + migrations[i].name))
        << migrations[i].name;
  }
}

TEST(Migrator, AppliesEveryEmbeddedMigrationAndRecordsIt) {
  TestDatabase db(false);
  const auto migrations = embedded_migrations();
  Migrator migrator(db.conninfo());
  EXPECT_EQ(migrator.pending_count(migrations), migrations.size());
  EXPECT_FALSE(migrator.is_current(migrations));

  EXPECT_EQ(migrator.migrate(migrations), migrations.size());

  EXPECT_TRUE(migrator.is_current(migrations));
  const auto rows = applied_rows(db);
  ASSERT_EQ(rows.size(), migrations.size());
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_THAT(rows[i], HasSubstr(std::to_string(migrations[i].version) + " " + migrations[i].name + " " +
                                   migration_checksum(migrations[i])));
  }
  EXPECT_EQ(count(db, "SELECT count(*) FROM events"), 0);
}

TEST(Migrator, ChecksumIsTheSha256HexOfTheSql) {
  EXPECT_EQ(migration_checksum({1, "0001_x.sql", "abc"}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Migrator, RerunIsANoOp) {
  TestDatabase db(false);
  const auto migrations = embedded_migrations();
  Migrator migrator(db.conninfo());
  migrator.migrate(migrations);
  const auto before = applied_rows(db);

  EXPECT_EQ(migrator.migrate(migrations), 0u);
  EXPECT_EQ(applied_rows(db), before);  // applied_at included: nothing was re-recorded
}

TEST(Migrator, AppliesOnlyWhatIsPendingInVersionOrder) {
  TestDatabase db(false);
  const auto all = logging_migrations(4);
  Migrator migrator(db.conninfo());
  EXPECT_EQ(migrator.migrate(std::span(all).first(2)), 2u);
  EXPECT_EQ(migrator.pending_count(all), 2u);

  EXPECT_EQ(migrator.migrate(all), 2u);
  EXPECT_EQ(tasklog::testing::query_value(db.conninfo(), "SELECT string_agg(version::text, ',' ORDER BY ctid) FROM applied_log"),
            "1,2,3,4");
}

TEST(Migrator, RefusesAnAppliedMigrationWhoseFileChanged) {
  TestDatabase db(false);
  auto migrations = logging_migrations(2);
  Migrator migrator(db.conninfo());
  migrator.migrate(std::span(migrations).first(1));

  migrations[0].sql += "\n-- an innocent-looking edit\n";
  const auto message = message_of([&] { migrator.migrate(migrations); });
  EXPECT_THAT(message, HasSubstr("0001_applied_log.sql"));
  EXPECT_THAT(message, HasSubstr("changed after it was applied"));
  EXPECT_THAT(message, HasSubstr(migration_checksum(migrations[0])));
  EXPECT_THAT(message_of([&] { migrator.pending_count(migrations); }), HasSubstr("0001_applied_log.sql"));
  // Refused before anything else ran: migration 2 is still pending.
  EXPECT_EQ(count(db, "SELECT count(*) FROM schema_migrations"), 1);
}

TEST(Migrator, RefusesADatabaseMigratedByANewerBinary) {
  TestDatabase db(false);
  const auto migrations = logging_migrations(3);
  Migrator migrator(db.conninfo());
  migrator.migrate(migrations);

  const auto message = message_of([&] { migrator.migrate(std::span(migrations).first(2)); });
  EXPECT_THAT(message, HasSubstr("0003_step.sql"));
  EXPECT_THAT(message, HasSubstr("newer tasklog"));
}

TEST(Migrator, RefusesMigrationsOutOfOrder) {
  TestDatabase db(false);
  auto migrations = logging_migrations(2);
  std::swap(migrations[0], migrations[1]);
  EXPECT_THAT(message_of([&] { Migrator(db.conninfo()).migrate(migrations); }), HasSubstr("strictly ascending"));
}

TEST(Migrator, AFailingMigrationIsRolledBackAndNamed) {
  TestDatabase db(false);
  auto migrations = logging_migrations(1);
  migrations.push_back({2, "0002_broken.sql", "CREATE TABLE half_done (x int); SELECT no_such_function();"});
  Migrator migrator(db.conninfo());

  const auto message = message_of([&] { migrator.migrate(migrations); });
  EXPECT_THAT(message, HasSubstr("0002_broken.sql"));
  EXPECT_THAT(message, HasSubstr("no_such_function"));
  EXPECT_EQ(count(db, "SELECT count(*) FROM schema_migrations"), 1);  // the first one stays applied
  EXPECT_EQ(count(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"), 0);
}

TEST(Migrator, ConcurrentMigratorsInThreadsApplyEachMigrationOnce) {
  TestDatabase db(false);
  const auto migrations = logging_migrations(6);
  constexpr int kMigrators = 8;
  std::barrier start(kMigrators);
  std::vector<std::size_t> applied(kMigrators);
  std::vector<std::string> errors(kMigrators);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kMigrators; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          applied[i] = Migrator(db.conninfo()).migrate(migrations);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
  }
  for (const auto& error : errors) EXPECT_EQ(error, "");
  std::size_t total = 0;
  for (auto n : applied) total += n;
  EXPECT_EQ(total, migrations.size());
  EXPECT_EQ(count(db, "SELECT count(*) FROM applied_log"), 6);
  EXPECT_EQ(count(db, "SELECT count(DISTINCT version) FROM applied_log"), 6);
  EXPECT_EQ(count(db, "SELECT count(*) FROM schema_migrations"), 6);
}

TEST(Migrator, TwoTasklogMigrateProcessesAtOnceApplyEachMigrationOnce) {
  const char* binary = std::getenv("TASKLOG_BINARY");
  ASSERT_NE(binary, nullptr) << "TASKLOG_BINARY must name the tasklog executable (ctest sets it)";
  TestDatabase db(false);
  const SpawnOptions options{.argv = {binary, "migrate", "--database-url", db.conninfo()},
                             .env = {},
                             .run_as = std::nullopt,
                             .output_fd = -1,
                             .detach = false};
  const pid_t first = spawn(options);
  const pid_t second = spawn(options);
  EXPECT_EQ(wait_for_exit(first), 0);
  EXPECT_EQ(wait_for_exit(second), 0);

  const auto migrations = embedded_migrations();
  EXPECT_EQ(count(db, "SELECT count(*) FROM schema_migrations"), static_cast<long long>(migrations.size()));
  EXPECT_TRUE(Migrator(db.conninfo()).is_current(migrations));
}

}  // namespace
}  // namespace tasklog::events
