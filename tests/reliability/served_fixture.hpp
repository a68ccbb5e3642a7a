// ServedTest: the reliability tests' set-up. A `tasklog serve` child process (tests/support/
// serve_process.hpp) on a database given with --database-url — by default a fresh one of the test
// cluster, so that killing tasklog leaves PostgreSQL running — and a user with a bearer token made
// directly in the database. What tasklog printed is shown when a test fails.
#pragma once

#include "api/auth.hpp"
#include "tests/api/routes_fixture.hpp"  // str_at, int_at
#include "tests/support/serve_process.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace tasklog::testing {

class ServedTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (serve_ && HasFailure()) std::cerr << "--- tasklog serve output:\n" << serve_->output() << "--- end\n";
    serve_.reset();  // SIGKILL when still running
  }

  // Creates the user on `conninfo` (when there is none yet) and starts serve on it.
  void serve(const std::string& conninfo, std::vector<std::string> env = {}) {
    conninfo_ = conninfo;
    if (token_.empty()) {
      pqxx::connection c{conninfo_};
      auto [user, token] = api::create_user(c, "reliability@example.test", "reliability");
      user_id_ = user.id;
      token_ = token.secret;
    }
    serve_ = std::make_unique<ServeProcess>(ServeProcessOptions{.database_url = conninfo_,
                                                                .home = dir_.path() / "home",
                                                                .output_file = dir_.path() / "serve.out",
                                                                .env = std::move(env)});
    serve_->start();
  }
  void serve_test_database(std::vector<std::string> env = {}) { serve(db_.conninfo(), std::move(env)); }

  std::unique_ptr<HttpClient> client() const { return std::make_unique<HttpClient>(serve_->endpoint(), token_); }

  std::string create_project(HttpClient& http, const std::string& name) {
    const auto r = http.post("/v1/projects", R"({"name":")" + name + R"("})");
    EXPECT_EQ(r.status, 201u) << r.body;
    return str_at(r, "/data/id");
  }
  std::string create_task(HttpClient& http, const std::string& project, const std::string& title) {
    const auto r = http.post("/v1/projects/" + project + "/tasks", R"({"title":")" + title + R"("})");
    EXPECT_EQ(r.status, 201u) << r.body;
    return str_at(r, "/data/id");
  }

  // The log's last position (0 when empty), read as the superuser past row-level security.
  std::int64_t head() const { return std::stoll(query_value(conninfo_, "SELECT coalesce(max(position), 0) FROM events")); }

  // `tasklog verify`: the hash chain holds and every read model equals the fold of the log.
  void expect_verified() const {
    const auto run = run_tasklog({"verify", "--database-url", conninfo_});
    EXPECT_EQ(run.status, 0) << "tasklog verify:\n" << run.output;
  }

  TempDir dir_;
  TestDatabase db_;
  std::string conninfo_;
  Uuid user_id_{};
  std::string token_;
  std::unique_ptr<ServeProcess> serve_;
};

}  // namespace tasklog::testing
