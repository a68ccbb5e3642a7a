// How `tasklog serve` starts. The first start on a database without users creates the admin and
// shows its token once; the user is committed before the token file is written, so a home where the
// file cannot be made must not lose the token: it is printed first, serve warns and goes on. And
// --listen takes a host name as well as an address.
#include "api/auth.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_cluster.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <fstream>
#include <regex>

namespace tasklog::api {
namespace {

using ::testing::HasSubstr;
using tasklog::testing::ServeProcess;
using tasklog::testing::ServeProcessOptions;
using tasklog::testing::TempDir;
using tasklog::testing::TestDatabase;

TEST(ServeStartTest, TheAdminTokenIsShownWhenItsFileCannotBeWritten) {
  TempDir dir;
  TestDatabase db;
  // A home below a regular file: no directory can be made there, whoever runs the test.
  std::ofstream(dir.path() / "a-file") << "not a directory\n";
  ServeProcess serve(ServeProcessOptions{.database_url = db.conninfo(),
                                         .home = dir.path() / "a-file" / "home",
                                         .output_file = dir.path() / "serve.out",
                                         .env = {}});
  serve.start();
  const std::string output = serve.output();
  EXPECT_THAT(output, HasSubstr("the admin token was not saved"));
  std::smatch token;
  ASSERT_TRUE(std::regex_search(output, token, std::regex("its bearer token:\n(tl_[A-Za-z0-9_-]+)\n"))) << output;
  pqxx::connection c(db.conninfo());
  const auto admin = authenticate(c, token[1].str());
  ASSERT_TRUE(admin) << "the printed token does not authenticate";
  EXPECT_TRUE(admin->admin);
}

TEST(ServeStartTest, ListenTakesAHostName) {
  TempDir dir;
  TestDatabase db;
  ServeProcess serve(ServeProcessOptions{.database_url = db.conninfo(),
                                         .home = dir.path() / "home",
                                         .output_file = dir.path() / "serve.out",
                                         .env = {},
                                         .listen = "localhost:0"});
  serve.start();
  EXPECT_EQ(serve.endpoint().address().to_string(), "127.0.0.1") << serve.output();
  EXPECT_NE(serve.endpoint().port(), 0);
}

}  // namespace
}  // namespace tasklog::api
