// Migrations runner: schema_migrations bookkeeping, checksum verification and the advisory lock
// that keeps two starting processes from applying the same file twice.
#include "events/migrator.hpp"

#include "core/sha256.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

namespace tasklog::events {
namespace {

// Key of the session-level advisory lock held for a whole migration run: "tasklog" in ASCII.
// Advisory locks are per database, so tests migrating separate databases never wait on each
// other. The event store's append lock is a different key.
constexpr long long kMigrationLockKey = 0x7461736B6C6F67;

struct AppliedMigration {
  std::string name;
  std::string checksum;
};

void require_ascending(std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version < 1) {
      throw MigrationError(fmt::format("migration {} has version {}; versions start at 1", migrations[i].name,
                                       migrations[i].version));
    }
    if (i > 0 && migrations[i].version <= migrations[i - 1].version) {
      throw MigrationError(fmt::format("migrations must be strictly ascending by version: {} follows {}",
                                       migrations[i].name, migrations[i - 1].name));
    }
  }
}

// Reads schema_migrations; an empty map when the table does not exist yet (a fresh database).
std::map<int, AppliedMigration> load_applied(pqxx::transaction_base& tx) {
  std::map<int, AppliedMigration> applied;
  if (!tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>()) {
    return applied;
  }
  for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations ORDER BY version")) {
    applied.emplace(row[0].as<int>(), AppliedMigration{row[1].as<std::string>(), row[2].as<std::string>()});
  }
  return applied;
}

// The migrations still to apply, after checking that every migration the database has applied is
// one this binary carries, unchanged. An edited file or a database migrated by a
// newer binary is refused: running on a schema we did not write is how data gets corrupted quietly.
std::vector<const Migration*> pending_after_checks(std::span<const Migration> migrations,
                                                   const std::map<int, AppliedMigration>& applied) {
  require_ascending(migrations);
  std::map<int, const Migration*> known;
  for (const auto& m : migrations) known.emplace(m.version, &m);

  for (const auto& [version, row] : applied) {
    auto it = known.find(version);
    if (it == known.end()) {
      throw MigrationError(fmt::format(
          "the database records migration {} ({}) that this tasklog does not contain: it was migrated by a "
          "newer tasklog. Refusing to start; run that version, or point tasklog at another database.",
          version, row.name));
    }
    const auto checksum = migration_checksum(*it->second);
    if (checksum != row.checksum) {
      throw MigrationError(fmt::format(
          "migration {} was changed after it was applied to this database (recorded sha256 {}, the file now "
          "has {}). Refusing to start: restore the file as it was applied and put the change into a new "
          "migration.",
          it->second->name, row.checksum, checksum));
    }
  }

  std::vector<const Migration*> pending;
  for (const auto& m : migrations) {
    if (!applied.contains(m.version)) pending.push_back(&m);
  }
  return pending;
}

void apply(pqxx::connection& conn, const Migration& migration) {
  const auto started = std::chrono::steady_clock::now();
  try {
    pqxx::work tx{conn};
    // One simple-protocol call runs every statement of the file; the transaction makes the file
    // and its bookkeeping row land together or not at all.
    tx.exec(migration.sql);
    tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                   migration.version, migration.name, migration_checksum(migration));
    tx.commit();
  } catch (const pqxx::sql_error& e) {
    throw MigrationError(fmt::format("migration {} failed and was rolled back: {}", migration.name, e.what()));
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("applied migration {} in {} ms", migration.name, ms);
}

}  // namespace

std::string migration_checksum(const Migration& migration) { return to_hex(sha256(migration.sql)); }

Migrator::Migrator(std::string conninfo) : conninfo_(std::move(conninfo)) {}

std::size_t Migrator::migrate(std::span<const Migration> migrations) {
  require_ascending(migrations);
  pqxx::connection conn{conninfo_};
  {
    pqxx::nontransaction tx{conn};
    if (!tx.exec1(fmt::format("SELECT pg_try_advisory_lock({})", kMigrationLockKey))[0].as<bool>()) {
      spdlog::info("another process is migrating this database; waiting for it to finish");
      tx.exec(fmt::format("SELECT pg_advisory_lock({})", kMigrationLockKey));
    }
  }
  // From here on this session holds the lock until the connection closes (also on an exception),
  // so reading what is applied and applying the rest cannot interleave with another migrator.
  {
    pqxx::work tx{conn};
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "  version    integer     PRIMARY KEY,"
        "  name       text        NOT NULL,"
        "  checksum   text        NOT NULL,"
        "  applied_at timestamptz NOT NULL DEFAULT now())");
    tx.commit();
  }
  std::vector<const Migration*> pending;
  {
    pqxx::read_transaction tx{conn};
    pending = pending_after_checks(migrations, load_applied(tx));
  }
  for (const Migration* m : pending) apply(conn, *m);
  if (pending.empty()) spdlog::info("database schema is current ({} migrations)", migrations.size());
  return pending.size();
}

std::size_t Migrator::pending_count(std::span<const Migration> migrations) const {
  pqxx::connection conn{conninfo_};
  pqxx::read_transaction tx{conn};
  return pending_after_checks(migrations, load_applied(tx)).size();
}

}  // namespace tasklog::events
