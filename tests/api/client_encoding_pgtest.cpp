// Every connection tasklog makes talks UTF-8, whatever the database or role defaults to
// (events/database.hpp utf8_conninfo), and the conninfo serve logs has no password.
//
// The database here defaults its sessions to client_encoding LATIN1. A connection that kept that
// default would have the server read the UTF-8 bytes of "✓" as three LATIN1 characters and store
// them converted: tasklog, reading through the same encoding, would get its bytes back and never
// notice, while every other reader (psql, a report, PostgreSQL's own text functions) sees "â\x9c\x93".
// So the assertions read through a connection that says UTF8 itself.
#include "events/database.hpp"
#include "tests/api/routes_fixture.hpp"  // str_at
#include "tests/support/serve_process.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_cluster.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

namespace tasklog::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using tasklog::testing::HttpClient;
using tasklog::testing::run_tasklog;
using tasklog::testing::ServeProcess;
using tasklog::testing::ServeProcessOptions;
using tasklog::testing::TempDir;
using tasklog::testing::TestDatabase;

// Not ASCII in one, two, three and four bytes, and a LATIN1-only letter.
constexpr const char* kName = "naïve ✓ 漢字 🚀";

class ClientEncodingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::query_value(testing::cluster_admin_conninfo(),
                         "ALTER DATABASE \"" + db_.name() + "\" SET client_encoding = 'LATIN1'");
    // What a connection that does not pin its encoding gets here.
    ASSERT_EQ(testing::query_value(db_.conninfo(), "SHOW client_encoding"), "LATIN1");
  }

  // Reads through a connection that pins UTF8 itself (not through tasklog's helper).
  std::string utf8_value(const std::string& sql) const {
    return testing::query_value(db_.conninfo() + " client_encoding=UTF8", sql);
  }

  TempDir dir_;
  TestDatabase db_;
};

TEST_F(ClientEncodingTest, CommandsStoreTextAsSentAndServeLogsNoPassword) {
  // A one-off command (tasklog user create) on the database URL.
  const auto created = run_tasklog({"user", "create", "--email", "enc@example.test", "--name", kName,
                                    "--database-url", db_.conninfo()});
  ASSERT_EQ(created.status, 0) << created.output;
  EXPECT_EQ(utf8_value("SELECT name FROM auth.users WHERE email = 'enc@example.test'"), kName);
  std::smatch token;
  ASSERT_TRUE(std::regex_search(created.output, token, std::regex("(^|\n)token: ([^\n]*)"))) << created.output;

  // serve: the writer's connection (the event and the read model), with a password in the
  // conninfo that the log must not show (the test cluster trusts local connections and ignores it).
  ServeProcess serve(ServeProcessOptions{.database_url = db_.conninfo() + " password=not-for-the-log",
                                         .home = dir_.path() / "home",
                                         .output_file = dir_.path() / "serve.out",
                                         .env = {}});
  serve.start();
  std::string project;
  {
    HttpClient http(serve.endpoint(), token[2]);
    const auto r = http.post("/v1/projects", std::string(R"({"name":")") + kName + R"("})");
    ASSERT_EQ(r.status, 201u) << r.body;
    project = str_at(r, "/data/id");
    EXPECT_EQ(str_at(http.get("/v1/projects/" + project), "/data/name"), kName);
  }
  EXPECT_EQ(utf8_value("SELECT payload->>'name' FROM events WHERE type = 'ProjectCreated'"), kName);
  EXPECT_EQ(utf8_value("SELECT name FROM readmodel.projects WHERE id = '" + project + "'"), kName);
  EXPECT_THAT(serve.output(), HasSubstr("tasklog ready on database"));
  EXPECT_THAT(serve.output(), Not(HasSubstr("not-for-the-log")));
  serve.stop(SIGTERM);

  // rebuild writes the read models with COPY text; verify folds the log again and compares.
  const auto rebuilt = run_tasklog({"rebuild", "--database-url", db_.conninfo()});
  ASSERT_EQ(rebuilt.status, 0) << rebuilt.output;
  EXPECT_EQ(utf8_value("SELECT name FROM readmodel.projects WHERE id = '" + project + "'"), kName);
  const auto verified = run_tasklog({"verify", "--database-url", db_.conninfo()});
  EXPECT_EQ(verified.status, 0) << verified.output;
}

}  // namespace
}  // namespace tasklog::api
