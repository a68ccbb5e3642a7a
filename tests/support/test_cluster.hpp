// The PostgreSQL test harness: one embedded cluster per test run, one fresh database per test.
//
// The cluster lives under $TASKLOG_TEST_CLUSTER (ctest sets <build>/test-cluster; a test binary run
// by hand falls back to the same directory of the build it belongs to). Whichever test process
// needs it first starts it, under a lock file, so ctest's parallel processes never start it twice;
// the others adopt it. It keeps running after the tests (scripts/test stops it with
// `tasklog db stop --home <dir>`), so the next run starts in milliseconds.
#pragma once

#include <string>
#include <string_view>

namespace tasklog::testing {

// Superuser connection string for `dbname` in the test cluster (started on first use).
std::string cluster_admin_conninfo(std::string_view dbname = "postgres");

// A database of its own for one test: cloned from `tasklog_template` (every embedded migration
// applied), or empty. Dropped WITH (FORCE) by the destructor, so connections a test leaves open
// do not keep it alive. Names are unique across processes. Not copyable; thread-safe to create
// from several threads.
class TestDatabase {
 public:
  TestDatabase();
  explicit TestDatabase(bool migrated);  // false: an empty database (for migrator tests)
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string conninfo() const;  // superuser conninfo for this database

 private:
  std::string name_;
};

}  // namespace tasklog::testing
