// The test cluster: started once per run (flock-guarded), with a migrated template database that
// is rebuilt whenever the embedded migrations change, and cheap per-test clones of it.
#include "tests/support/test_cluster.hpp"

#include "core/sha256.hpp"
#include "events/embedded_postgres.hpp"
#include "events/file_lock.hpp"
#include "events/migrator.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <random>

namespace fs = std::filesystem;

namespace tasklog::testing {
namespace {

constexpr std::string_view kTemplate = "tasklog_template";

fs::path cluster_home() {
  if (const char* dir = std::getenv("TASKLOG_TEST_CLUSTER"); dir != nullptr && *dir != '\0') return dir;
  return TASKLOG_TEST_CLUSTER_DEFAULT;
}

// fsync and full-page writes only matter for an OS crash, which a test run never survives anyway.
// synchronous_commit stays on: tests must see real commit behaviour. The race tests open many
// connections at once.
std::vector<std::string> cluster_settings() {
  return {"fsync=off", "full_page_writes=off", "max_connections=300"};
}

// Identifies the exact set of migrations the template was built from.
std::string migrations_fingerprint() {
  Sha256 hasher;
  for (const auto& m : events::embedded_migrations()) {
    hasher.update(fmt::format("{} {} {}\n", m.version, m.name, events::migration_checksum(m)));
  }
  return to_hex(hasher.finish());
}

// The fingerprint is written as the template's comment last, so a template whose build was cut
// short (a killed test) is found stale and rebuilt rather than cloned half-migrated.
void ensure_template(const events::EmbeddedPostgres& pg) {
  const auto fingerprint = migrations_fingerprint();
  pqxx::connection admin{pg.conninfo("postgres")};
  pqxx::nontransaction tx{admin};
  const auto found = tx.exec_params(
      "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1",
      std::string(kTemplate));
  if (!found.empty() && found[0][0].as<std::string>() == fingerprint) return;

  const auto name = tx.quote_name(std::string(kTemplate));
  if (!found.empty()) {
    tx.exec("ALTER DATABASE " + name + " IS_TEMPLATE false");
    tx.exec("DROP DATABASE " + name + " WITH (FORCE)");
  }
  tx.exec("CREATE DATABASE " + name);
  events::Migrator(pg.conninfo(kTemplate)).migrate(events::embedded_migrations());
  // No connections allowed: CREATE DATABASE ... TEMPLATE fails while anyone is connected to it.
  tx.exec("ALTER DATABASE " + name + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false");
  tx.exec("COMMENT ON DATABASE " + name + " IS " + tx.quote(fingerprint));
}

struct Cluster {
  events::EmbeddedPostgres pg;
  fs::path lock_file;
};

// Started on first use; the function-local static makes threads of one process wait for the
// first, the lock file does the same for other processes.
const Cluster& cluster() {
  static const Cluster instance = [] {
    const fs::path home = cluster_home();
    fs::create_directories(home);
    events::EmbeddedPostgresOptions options;
    options.home = home;
    options.settings = cluster_settings();
    Cluster c{events::EmbeddedPostgres(options), home / "harness.lock"};
    events::FileLock lock(c.lock_file);
    c.pg.start();
    ensure_template(c.pg);
    return c;
  }();
  return instance;
}

std::string unique_database_name() {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}();
  return fmt::format("t_{}_{}_{:08x}", getpid(), ++counter, salt);
}

}  // namespace

std::string cluster_admin_conninfo(std::string_view dbname) { return cluster().pg.conninfo(dbname); }

TestDatabase::TestDatabase() : TestDatabase(true) {}

TestDatabase::TestDatabase(bool migrated) : name_(unique_database_name()) {
  const auto& c = cluster();
  // Shared: clones run side by side; a process rebuilding the template (exclusive) waits for them.
  events::FileLock lock(c.lock_file, events::FileLock::Mode::shared);
  pqxx::connection admin{c.pg.conninfo("postgres")};
  pqxx::nontransaction tx{admin};
  tx.exec(fmt::format("CREATE DATABASE {} TEMPLATE {}", tx.quote_name(name_),
                      migrated ? kTemplate : std::string_view("template0")));
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin{cluster().pg.conninfo("postgres")};
    pqxx::nontransaction tx{admin};
    tx.exec("DROP DATABASE " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not drop test database " << name_ << ": " << e.what();
  }
}

std::string TestDatabase::conninfo() const { return cluster().pg.conninfo(name_); }

}  // namespace tasklog::testing
