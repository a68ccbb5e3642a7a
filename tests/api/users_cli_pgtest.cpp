// `tasklog user create` and `tasklog token create|list|revoke`, run as the real binary
// ($TASKLOG_BINARY) against a test database: the printed tokens authenticate, revoked ones stop.
#include "api/auth.hpp"
#include "events/child_process.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_cluster.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace tasklog::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CommandRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

// The value of a "key: value" line of a command's output ("" when there is none).
std::string field(const std::string& output, const std::string& key) {
  std::smatch match;
  if (std::regex_search(output, match, std::regex("(^|\n)" + key + ": ([^\n]*)"))) return match[2];
  return {};
}

class UsersCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* binary = std::getenv("TASKLOG_BINARY");
    ASSERT_NE(binary, nullptr) << "TASKLOG_BINARY must name the tasklog executable (ctest sets it)";
    binary_ = binary;
  }

  // `to`: where stdout and stderr go (the output file when empty; the run's output is then empty).
  CommandRun tasklog(std::vector<std::string> args, bool with_database = true, const std::string& to = {}) {
    const auto file = dir_.path() / "output";
    const int fd = to.empty() ? ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644) : ::open(to.c_str(), O_WRONLY);
    args.insert(args.begin(), binary_);
    if (with_database) args.push_back("--database-url=" + db_.conninfo());
    const pid_t pid = events::spawn({.argv = args, .env = {}, .run_as = std::nullopt, .output_fd = fd, .detach = false});
    ::close(fd);
    CommandRun run{.status = events::wait_for_exit(pid), .output = {}};
    if (!to.empty()) return run;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    run.output = text.str();
    return run;
  }

  std::optional<Principal> authenticated(const std::string& token) {
    pqxx::connection c(db_.conninfo());
    return authenticate(c, token);
  }

  tasklog::testing::TestDatabase db_;
  tasklog::testing::TempDir dir_;
  std::string binary_;
};

TEST_F(UsersCliTest, UserCreatePrintsATokenThatAuthenticates) {
  const CommandRun run = tasklog({"user", "create", "--email", "alice@example.com", "--name", "Alice"});
  ASSERT_EQ(run.status, 0) << run.output;
  const std::string token = field(run.output, "token");
  const auto user_id = parse_uuid(field(run.output, "user_id"));
  ASSERT_TRUE(user_id) << run.output;
  EXPECT_EQ(field(run.output, "email"), "alice@example.com");
  const auto principal = authenticated(token);
  ASSERT_TRUE(principal) << run.output;
  EXPECT_EQ(principal->user_id, *user_id);
  EXPECT_EQ(principal->name, "Alice");
  EXPECT_FALSE(principal->admin);

  const CommandRun admin = tasklog({"user", "create", "--email", "root@example.com", "--name", "Root", "--admin"});
  ASSERT_EQ(admin.status, 0) << admin.output;
  EXPECT_TRUE(authenticated(field(admin.output, "token"))->admin);

  const CommandRun again = tasklog({"user", "create", "--email", "ALICE@example.com", "--name", "Alice 2"});
  EXPECT_EQ(again.status, 1) << again.output;
  EXPECT_THAT(again.output, HasSubstr("ALICE@example.com already exists"));
  EXPECT_EQ(field(again.output, "token"), "");
}

TEST_F(UsersCliTest, TokenCreateListRevoke) {
  const CommandRun user = tasklog({"user", "create", "--email", "alice@example.com", "--name", "Alice"});
  ASSERT_EQ(user.status, 0) << user.output;
  const std::string first = field(user.output, "token");

  const CommandRun created = tasklog({"token", "create", "--email", "Alice@Example.com", "--name", "ci",
                                      "--expires-in-days", "7"});
  ASSERT_EQ(created.status, 0) << created.output;
  const std::string second = field(created.output, "token");
  const std::string second_id = field(created.output, "token_id");
  ASSERT_TRUE(parse_uuid(second_id)) << created.output;
  EXPECT_NE(field(created.output, "expires"), "-");
  EXPECT_TRUE(authenticated(second)) << created.output;

  CommandRun list = tasklog({"token", "list", "--email", "alice@example.com"});
  ASSERT_EQ(list.status, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr("id\tname\tcreated\texpires\trevoked\n"));
  EXPECT_THAT(list.output, HasSubstr("\tdefault\t"));
  EXPECT_THAT(list.output, ::testing::ContainsRegex(second_id + "\tci\t[^\t]+\t[0-9T:.-]+Z\t-\n"));
  EXPECT_THAT(list.output, Not(HasSubstr(second)));  // secrets are never listed

  const CommandRun revoked = tasklog({"token", "revoke", second_id});
  ASSERT_EQ(revoked.status, 0) << revoked.output;
  EXPECT_FALSE(authenticated(second));
  EXPECT_TRUE(authenticated(first));
  list = tasklog({"token", "list", "--email", "alice@example.com"});
  EXPECT_THAT(list.output, ::testing::ContainsRegex(second_id + "\tci\t[^\t]+\t[^\t]+\t[0-9T:.-]+Z\n"));

  EXPECT_EQ(tasklog({"token", "revoke", to_string(derived_uuid("no such token"))}).status, 2);
  EXPECT_EQ(tasklog({"token", "revoke", "not-a-uuid"}).status, 1);
  EXPECT_EQ(tasklog({"token", "create", "--email", "bob@example.com"}).status, 2);
  EXPECT_EQ(tasklog({"token", "list", "--email", "bob@example.com"}).status, 2);
}

// After `tasklog import` into a new database the log's memberships name users by the ids they had:
// the operator creates each again with that id, and it is a member again. (Without --id nothing
// could make an imported project reachable: found by a read-only review.)
TEST_F(UsersCliTest, UserCreateTakesTheIdTheLogNames) {
  const std::string id = "6f9619ff-8b86-4011-b42d-00c04fc964ff";
  const CommandRun run = tasklog({"user", "create", "--email", "owner@example.com", "--name", "Owner", "--id", id});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(field(run.output, "user_id"), id);
  ASSERT_TRUE(authenticated(field(run.output, "token")));
  EXPECT_EQ(to_string(authenticated(field(run.output, "token"))->user_id), id);

  const CommandRun taken = tasklog({"user", "create", "--email", "other@example.com", "--name", "O", "--id", id});
  EXPECT_EQ(taken.status, 1) << taken.output;
  EXPECT_THAT(taken.output, HasSubstr("a user with id " + id + " already exists"));
  const CommandRun malformed = tasklog({"user", "create", "--email", "x@example.com", "--name", "X", "--id", "nope"});
  EXPECT_EQ(malformed.status, 1) << malformed.output;
  EXPECT_THAT(malformed.output, HasSubstr("--id must be a UUID"));
  EXPECT_EQ(tasklog::testing::query_value(db_.conninfo(), "SELECT count(*) FROM auth.users"), "1");
}

// A result that could not be written is a failure, not a 0: a token whose secret nobody saw.
TEST_F(UsersCliTest, AResultThatCannotBeWrittenFails) {
  ASSERT_EQ(tasklog({"user", "create", "--email", "a@example.com", "--name", "A"}).status, 0);
  EXPECT_EQ(tasklog({"token", "create", "--email", "a@example.com"}, true, "/dev/full").status, 1);
  EXPECT_EQ(tasklog({"token", "list", "--email", "a@example.com"}, true, "/dev/full").status, 1);
}

// Out-of-range numbers are usage errors (CLI11's ValidationError, 105) before anything runs: an
// expiry of 10^9 days overflowed the microseconds (UBSan aborted), `tail -n -1` reached SQL.
TEST_F(UsersCliTest, OutOfRangeOptionsAreUsageErrors) {
  ASSERT_EQ(tasklog({"user", "create", "--email", "a@example.com", "--name", "A"}).status, 0);
  const CommandRun far = tasklog({"token", "create", "--email", "a@example.com", "--expires-in-days", "1000000000"});
  EXPECT_EQ(far.status, 105) << far.output;
  EXPECT_EQ(tasklog({"token", "create", "--email", "a@example.com", "--expires-in-days", "365000"}).status, 0);
  const CommandRun negative = tasklog({"events", "tail", "-n", "-1"});
  EXPECT_EQ(negative.status, 105) << negative.output;
  EXPECT_THAT(negative.output, Not(HasSubstr("bigint")));
}

TEST_F(UsersCliTest, HelpForEachCommand) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> commands{
      {{"user", "create"}, "--admin"},
      {{"token", "create"}, "--expires-in-days"},
      {{"token", "list"}, "--email"},
      {{"token", "revoke"}, "token_id"}};
  for (const auto& [words, option] : commands) {
    auto args = words;
    args.push_back("--help");
    const CommandRun run = tasklog(args, false);
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_THAT(run.output, HasSubstr(option)) << words[0] << " " << words[1];
    EXPECT_THAT(run.output, HasSubstr("--database-url")) << words[0] << " " << words[1];
  }
  EXPECT_EQ(tasklog({"user", "create", "--name", "no email"}).status, 106);  // CLI11's RequiredError
}

}  // namespace
}  // namespace tasklog::api
