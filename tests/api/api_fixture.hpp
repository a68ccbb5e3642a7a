// ApiTest: a fixture for HTTP tests over real sockets. Each test gets a fresh migrated database
// (tests/support/test_cluster.hpp) and an ApiServer on 127.0.0.1 with a free port, started in
// SetUp and stopped in TearDown.
//
//   class TaskRoutesTest : public ApiTest {};
//   TEST_F(TaskRoutesTest, CreatesAProject) {
//     auto alice = create_user("alice");            // a user with a bearer token
//     auto client = alice.client();                 // keep-alive connection, sends the token
//     auto r = client->post("/v1/projects", R"({"name":"p"})");
//     EXPECT_EQ(r.status, 201) << r.body;
//   }
//
// To change the server options, override configure() (called before the server is built), e.g.
// for a short idle timeout or extra probe routes.
#pragma once

#include "api/api_server.hpp"
#include "api/auth.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <memory>
#include <string>

namespace tasklog::testing {

class ApiTest : public ::testing::Test {
 protected:
  struct TestUser {
    Uuid id{};
    std::string email{};
    std::string token{};  // the user's bearer token
    boost::asio::ip::tcp::endpoint server{};

    // A new keep-alive client that authenticates as this user.
    std::unique_ptr<HttpClient> client() const { return std::make_unique<HttpClient>(server, token); }
  };

  void SetUp() override { start_server(); }
  void TearDown() override { stop_server(); }

  // Override to adjust the options before the server starts. Defaults: 2 I/O threads, 4 workers,
  // no lease reaper (tests that need expiry run the reaper themselves or set run_reaper).
  virtual void configure(api::ApiServerOptions& /*options*/) {}

  void start_server() {
    api::ApiServerOptions options;
    options.conninfo = db_.conninfo();
    options.listen = {boost::asio::ip::make_address("127.0.0.1"), 0};
    options.io_threads = 2;
    options.worker_threads = 4;
    options.run_reaper = false;
    configure(options);
    server_ = std::make_unique<api::ApiServer>(std::move(options));
    server_->start();
  }

  void stop_server() {
    if (server_) server_->stop();
    server_.reset();
  }

  // A user (with a token) created directly in the database. Names must be unique per test:
  // the email is "<name>@example.test".
  TestUser create_user(const std::string& name, bool admin = false) {
    pqxx::connection c{db_.conninfo()};
    auto [user, token] = api::create_user(c, name + "@example.test", name, admin);
    return TestUser{user.id, user.email, token.secret, endpoint()};
  }

  // A client without credentials (or with `token`).
  std::unique_ptr<HttpClient> anonymous_client(std::string token = {}) const {
    return std::make_unique<HttpClient>(endpoint(), std::move(token));
  }

  boost::asio::ip::tcp::endpoint endpoint() const { return server_->endpoint(); }
  std::string conninfo() const { return db_.conninfo(); }

  TestDatabase db_;
  std::unique_ptr<api::ApiServer> server_;
};

}  // namespace tasklog::testing
