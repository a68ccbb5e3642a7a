#include "core/scope.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

using namespace tasklog;

TEST(Glob, StarStaysWithinOneSegment) {
  EXPECT_TRUE(glob_match("src/*.cpp", "src/main.cpp"));
  EXPECT_FALSE(glob_match("src/*.cpp", "src/net/socket.cpp"));
  EXPECT_FALSE(glob_match("*.md", "docs/readme.md"));
  EXPECT_TRUE(glob_match("*.md", "README.md"));
  EXPECT_TRUE(glob_match("src/*", "src/a"));
  EXPECT_FALSE(glob_match("src/*", "src"));
}

TEST(Glob, DoubleStarCrossesSegmentsIncludingNone) {
  EXPECT_TRUE(glob_match("src/**/*.cpp", "src/main.cpp"));
  EXPECT_TRUE(glob_match("src/**/*.cpp", "src/a/b/c/main.cpp"));
  EXPECT_FALSE(glob_match("src/**/*.cpp", "lib/a/main.cpp"));
  EXPECT_TRUE(glob_match("**/*.md", "README.md"));
  EXPECT_TRUE(glob_match("**/*.md", "docs/guide/intro.md"));
  EXPECT_TRUE(glob_match("docs/**", "docs/a/b.txt"));
  EXPECT_TRUE(glob_match("**", "anything/at/all"));
  EXPECT_TRUE(glob_match("a/**/b/**/c", "a/x/b/y/z/c"));
  EXPECT_FALSE(glob_match("a/**/b/**/c", "a/x/y/c"));
}

TEST(Glob, TrailingSlashMeansEverythingBelow) {
  EXPECT_TRUE(glob_match("migrations/", "migrations/0001_init.sql"));
  EXPECT_TRUE(glob_match("migrations/", "migrations/old/0000.sql"));
  EXPECT_FALSE(glob_match("migrations/", "src/migrations.cpp"));
}

TEST(Glob, QuestionMarkAndClasses) {
  EXPECT_TRUE(glob_match("file?.txt", "file1.txt"));
  EXPECT_FALSE(glob_match("file?.txt", "file12.txt"));
  EXPECT_FALSE(glob_match("a?b", "a/b"));
  EXPECT_TRUE(glob_match("v[0-9].txt", "v7.txt"));
  EXPECT_FALSE(glob_match("v[0-9].txt", "vx.txt"));
  EXPECT_TRUE(glob_match("v[!0-9].txt", "vx.txt"));
  EXPECT_TRUE(glob_match("[abc]*", "banana"));
  EXPECT_TRUE(glob_match("weird[", "weird["));
}

TEST(Glob, StarBacktracks) {
  EXPECT_TRUE(glob_match("*_test.cpp", "a_test_test.cpp"));
  EXPECT_TRUE(glob_match("*a*b*c", "xaybzc"));
  EXPECT_FALSE(glob_match("*a*b*c", "xaybz"));
}

TEST(Glob, ManyDoubleStarsStayFast) {
  std::string path;
  for (int i = 0; i < 200; ++i) path += "d/";
  path += "f";
  EXPECT_FALSE(glob_match("**/**/**/**/**/**/**/x", path));
  EXPECT_TRUE(glob_match("**/**/**/**/**/**/**/f", path));
}

TEST(Glob, DoubleStarTakesAsManySegmentsAsTheRestNeeds) {
  EXPECT_TRUE(glob_match("**/a/b", "a/a/b"));       // the first `a` goes to `**`
  EXPECT_TRUE(glob_match("**/a/**/a", "a/a/x/a"));
  EXPECT_FALSE(glob_match("**/a/b", "a/b/a"));
  EXPECT_TRUE(glob_match("x/**", "x"));             // `**` matches no segment at all
  EXPECT_FALSE(glob_match("x/**/y", "x"));
  EXPECT_TRUE(glob_match("*/**/*.h", "a/b.h"));
  EXPECT_FALSE(glob_match("*/**/*.h", "b.h"));
}

// The worst the schemas let through: 250 paths of 4,096 characters against 200 forbidden and 200
// allowed globs of 1,000 characters, shaped so that every `**` backtracks. Unbounded, it ran for
// minutes on the writer thread; with the budget it is refused with validation_failed.
TEST(Scope, AnOversizedCheckIsRefusedInsteadOfStallingTheWriter) {
  std::string glob;
  while (glob.size() + 5 < 1000) glob += "**/x/";
  glob += "y";
  std::string path;
  while (path.size() + 2 <= 4095) path += "x/";
  path += "x";
  const ScopeRules rules{std::vector<std::string>(200, glob), std::vector<std::string>(200, glob)};
  try {
    check_scope(rules, std::vector<std::string>(250, path));
    FAIL() << "the check ran to its end";
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  }
  // A check of real size under the same rules runs to its verdict.
  const auto verdict = check_scope(rules, {"src/a.cpp"});
  ASSERT_EQ(verdict.violations.size(), 1u);
  EXPECT_EQ(verdict.violations[0].reason, ScopeViolationReason::outside_allowed);
}

TEST(RepoPath, Normalizes) {
  EXPECT_EQ(normalize_repo_path("./src//a.cpp"), "src/a.cpp");
  EXPECT_EQ(normalize_repo_path("src/./a.cpp"), "src/a.cpp");
  EXPECT_EQ(normalize_repo_path("/etc/passwd"), std::nullopt);
  EXPECT_EQ(normalize_repo_path("src/../../x"), std::nullopt);
  EXPECT_EQ(normalize_repo_path(""), std::nullopt);
  EXPECT_EQ(normalize_repo_path("./"), std::nullopt);
}

TEST(Scope, AllowedListLimitsPaths) {
  const ScopeRules rules{{"src/**", "tests/**"}, {}};
  const auto v = check_scope(rules, {"src/a.cpp", "tests/a_test.cpp", "README.md"});
  EXPECT_FALSE(v.in_scope);
  ASSERT_EQ(v.violations.size(), 1u);
  EXPECT_EQ(v.violations[0].path, "README.md");
  EXPECT_EQ(v.violations[0].reason, ScopeViolationReason::outside_allowed);
}

TEST(Scope, ForbiddenWinsOverAllowed) {
  const ScopeRules rules{{"src/**"}, {"src/generated/**", "**/*.pem"}};
  const auto v = check_scope(rules, {"src/ok.cpp", "src/generated/api.cpp", "src/keys/server.pem"});
  EXPECT_FALSE(v.in_scope);
  ASSERT_EQ(v.violations.size(), 2u);
  EXPECT_EQ(v.violations[0].path, "src/generated/api.cpp");
  EXPECT_EQ(v.violations[0].reason, ScopeViolationReason::forbidden);
  EXPECT_EQ(v.violations[0].rule, "src/generated/**");
  EXPECT_EQ(v.violations[1].rule, "**/*.pem");
}

TEST(Scope, NoRulesAllowsEverythingInsideTheRepository) {
  const auto v = check_scope(ScopeRules{}, {"anything.txt", "deep/nested/dir/file"});
  EXPECT_TRUE(v.in_scope);
  EXPECT_TRUE(v.violations.empty());
}

TEST(Scope, PathsLeavingTheRepositoryAreViolations) {
  const auto v = check_scope(ScopeRules{}, {"../outside.txt", "/abs/path"});
  ASSERT_EQ(v.violations.size(), 2u);
  EXPECT_EQ(v.violations[0].reason, ScopeViolationReason::invalid_path);
  EXPECT_EQ(v.violations[1].path, "/abs/path");
}

TEST(Scope, PathsAreNormalizedBeforeMatching) {
  const ScopeRules rules{{"src/**"}, {"src/secret/**"}};
  const auto v = check_scope(rules, {"./src//secret/key.txt"});
  ASSERT_EQ(v.violations.size(), 1u);
  EXPECT_EQ(v.violations[0].path, "src/secret/key.txt");
  EXPECT_EQ(v.violations[0].reason, ScopeViolationReason::forbidden);
}
