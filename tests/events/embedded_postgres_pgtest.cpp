// The embedded PostgreSQL launcher used as a library: start, stop, restart with data, adoption of
// a running server, stale lock files naming a recycled pid, placement of the data directory, and
// server settings. (tests/api/serve_pgtest.cpp drives the same through the tasklog binary, kill -9
// included.) Each test makes its own cluster in a temporary home.
#include "events/embedded_postgres.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace fs = std::filesystem;

namespace tasklog::events {
namespace {

using ::testing::HasSubstr;
using tasklog::testing::TempDir;
using tasklog::testing::query_value;

EmbeddedPostgresOptions options_for(const fs::path& home, std::vector<std::string> settings = {}) {
  EmbeddedPostgresOptions options;
  options.home = home;
  options.settings = std::move(settings);
  return options;
}

class EmbeddedPostgresTest : public ::testing::Test {
 protected:
  fs::path home() const { return dir_.path() / "home"; }

  // A failing test must not leave a server behind.
  void TearDown() override {
    try {
      EmbeddedPostgres(options_for(home())).stop();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not stop the test cluster: " << e.what();
    }
  }

  TempDir dir_;
};

TEST_F(EmbeddedPostgresTest, StartsStopsAndRestartsKeepingItsData) {
  EmbeddedPostgres pg(options_for(home()));
  EXPECT_EQ(pg.start(), EmbeddedPostgres::StartOutcome::started);
  EXPECT_EQ(pg.data_dir(), home() / "data");
  EXPECT_TRUE(fs::exists(pg.data_dir() / "PG_VERSION"));
  const auto live = pg.running();
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->socket_dir, pg.socket_dir());
  EXPECT_EQ(query_value(pg.conninfo(), "SELECT current_database()"), "tasklog");
  EXPECT_EQ(query_value(pg.conninfo(), "SELECT current_user"), "tasklog");
  EXPECT_EQ(query_value(pg.conninfo(), "SHOW listen_addresses"), "");
  query_value(pg.conninfo(), "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('survives a restart')");

  pg.stop();
  EXPECT_FALSE(pg.running().has_value());
  EXPECT_FALSE(process_alive(live->pid));
  EXPECT_FALSE(fs::exists(pg.socket_dir()));  // nothing left behind in /tmp

  EmbeddedPostgres again(options_for(home()));
  EXPECT_EQ(again.start(), EmbeddedPostgres::StartOutcome::started);
  EXPECT_EQ(query_value(again.conninfo(), "SELECT note FROM kept"), "survives a restart");
  again.stop();
}

TEST_F(EmbeddedPostgresTest, KeepsTheSocketPathShortForADeepHome) {
  fs::path deep = home();
  for (int i = 0; i < 4; ++i) deep /= std::string(60, 'd');
  EmbeddedPostgres pg(options_for(deep));
  pg.start();
  EXPECT_LT((pg.socket_dir() / ".s.PGSQL.5432").string().size(), 107u);
  EXPECT_EQ(query_value(pg.conninfo(), "SELECT 1"), "1");
  pg.stop();
}

TEST_F(EmbeddedPostgresTest, ASecondLauncherAdoptsTheRunningServer) {
  EmbeddedPostgres first(options_for(home()));
  ASSERT_EQ(first.start(), EmbeddedPostgres::StartOutcome::started);
  EmbeddedPostgres second(options_for(home()));
  EXPECT_EQ(second.start(), EmbeddedPostgres::StartOutcome::adopted);
  ASSERT_TRUE(second.running().has_value());
  EXPECT_EQ(second.running()->pid, first.running()->pid);
  EXPECT_EQ(query_value(second.conninfo(), "SELECT 1"), "1");
  second.stop();
  EXPECT_FALSE(first.running().has_value());
}

TEST_F(EmbeddedPostgresTest, StartsDespiteLockFilesNamingALiveStranger) {
  EmbeddedPostgres pg(options_for(home()));
  pg.start();
  pg.stop();
  // As after a kill -9 and a pid recycled by another process: both lock files name a live
  // process (this test) that is not a postmaster. PostgreSQL alone would refuse to start.
  const auto stranger = std::to_string(getpid());
  fs::create_directories(pg.socket_dir());  // stop() removed it; a kill -9 would have left it
  std::ofstream(pg.data_dir() / "postmaster.pid") << stranger << "\n" << pg.data_dir().string() << "\n";
  std::ofstream(pg.socket_dir() / ".s.PGSQL.5432.lock") << stranger << "\n" << pg.data_dir().string() << "\n";
  ASSERT_TRUE(fs::exists(pg.socket_dir() / ".s.PGSQL.5432.lock"));

  EXPECT_EQ(pg.start(), EmbeddedPostgres::StartOutcome::started);
  EXPECT_EQ(query_value(pg.conninfo(), "SELECT 1"), "1");
  ASSERT_TRUE(pg.running().has_value());
  EXPECT_NE(pg.running()->pid, getpid());
  pg.stop();
}

TEST_F(EmbeddedPostgresTest, PutsTheDataWhereTheServerUserCanReachIt) {
  dir_.restrict_to_owner();  // like a home directory under /root: mode 0700
  EmbeddedPostgres pg(options_for(home()));
  pg.start();
  const bool relocated = geteuid() == 0;  // only as root does PostgreSQL run as another user
  if (relocated) {
    EXPECT_TRUE(fs::is_symlink(home() / "data"));
    EXPECT_EQ(pg.data_dir(), fs::canonical(home() / "data"));
    EXPECT_EQ(pg.data_dir().parent_path().parent_path(), fs::path("/var/lib/tasklog"));
  } else {
    EXPECT_EQ(pg.data_dir(), home() / "data");
  }
  query_value(pg.conninfo(), "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)");
  pg.stop();

  EmbeddedPostgres again(options_for(home()));  // finds the data through the symlink
  EXPECT_EQ(again.data_dir(), pg.data_dir());
  again.start();
  EXPECT_EQ(query_value(again.conninfo(), "SELECT x FROM kept"), "7");
  again.stop();
  if (relocated) fs::remove_all(pg.data_dir().parent_path());
}

TEST_F(EmbeddedPostgresTest, AppliesServerSettings) {
  EmbeddedPostgres pg(options_for(home(), {"max_connections=42", "application_name=it's quoted"}));
  pg.start();
  EXPECT_EQ(query_value(pg.conninfo(), "SHOW max_connections"), "42");
  EXPECT_EQ(query_value(pg.conninfo(), "SHOW fsync"), "on");  // durability is the default
  pg.stop();
}

TEST(EmbeddedPostgres, RefusesMalformedSettings) {
  EXPECT_THROW(EmbeddedPostgres(options_for("/nonexistent", {"fsync"})), std::invalid_argument);
  EXPECT_THROW(EmbeddedPostgres(options_for("/nonexistent", {"bad key=1"})), std::invalid_argument);
}

TEST(EmbeddedPostgres, StopOfAClusterThatNeverExistedIsANoOp) {
  TempDir dir;
  EmbeddedPostgres pg(options_for(dir.path() / "never-started"));
  EXPECT_FALSE(pg.running().has_value());
  pg.stop();
  EXPECT_FALSE(fs::exists(dir.path() / "never-started"));
}

TEST(EmbeddedPostgres, ConninfoNamesTheSocketUserAndDatabase) {
  EmbeddedPostgres pg(options_for("/srv/tasklog"));
  EXPECT_THAT(pg.conninfo("events db"), HasSubstr("host='" + pg.socket_dir().string() + "'"));
  EXPECT_THAT(pg.conninfo("events db"), HasSubstr("user=tasklog dbname='events db'"));
  EXPECT_THAT(pg.socket_dir().string(), ::testing::StartsWith("/tmp/tasklog-"));
}

}  // namespace
}  // namespace tasklog::events
