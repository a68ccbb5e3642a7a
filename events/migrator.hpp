// The migrations runner: applies the numbered SQL files of migrations/ (embedded into the binary)
// to a database, once each, in order, and refuses to run against a schema whose history differs
// from the files it carries.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace tasklog::events {

struct Migration {
  int version;       // NNNN of migrations/NNNN_name.sql
  std::string name;  // the file name, e.g. "0001_event_log.sql": what an operator looks for
  std::string sql;   // the file's exact bytes
};

// Every migrations/NNNN_name.sql, ascending by version. Defined in the tasklog_migrations library
// (generated at build time), so the binary carries its schema with it.
std::vector<Migration> embedded_migrations();

// Lower-case hex SHA-256 of the SQL: what schema_migrations.checksum records.
std::string migration_checksum(const Migration& migration);

// Refusal to migrate or to start: an applied file was edited, the database knows a migration this
// binary does not, or the list itself is malformed. The message names the file and what to do.
class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Applies migrations to the database at `conninfo` (a libpq connection string or URL).
// Each call opens its own connection; a Migrator holds no connection between calls, so one may be
// shared by threads. Concurrent migrators, in threads or processes, are serialized by a
// session-level advisory lock, so every migration is applied exactly once.
class Migrator {
 public:
  explicit Migrator(std::string conninfo);

  // Applies the migrations not yet recorded, in ascending version order, each in its own
  // transaction together with its schema_migrations row. Returns how many it applied (0: the
  // database was current). Throws MigrationError when an applied migration's checksum differs from
  // the given SQL, when the database records a version not in `migrations`, or when `migrations`
  // is not strictly ascending. A migration whose SQL fails is rolled back entirely and reported as a
  // MigrationError naming its file and PostgreSQL's message; the ones before it stay applied.
  std::size_t migrate(std::span<const Migration> migrations);

  // How many of `migrations` the database has not applied yet. Performs the same consistency
  // checks as migrate() (and throws the same MigrationError), so "0 pending" means the schema is
  // exactly what this binary expects. Takes no lock: a readiness probe must not queue behind a
  // running migration.
  std::size_t pending_count(std::span<const Migration> migrations) const;
  bool is_current(std::span<const Migration> migrations) const { return pending_count(migrations) == 0; }

 private:
  std::string conninfo_;
};

}  // namespace tasklog::events
