// The dashboard's files over real HTTP (api/dashboard.hpp): GET / and /dashboard/<file> serve the
// bytes of api/dashboard/ exactly, without a token, with their Content-Type, an entity tag that
// revalidates to 304, and the security headers; anything else under /dashboard is a 404 in the
// error shape. The page's own files are checked for what the Content-Security-Policy forbids
// (inline script, handlers in attributes, other origins), so that the browser never has to refuse.
#include "api/dashboard.hpp"
#include "core/task.hpp"
#include "tests/api/api_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace tasklog::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const fs::path kDashboardDir = fs::path(TASKLOG_SOURCE_DIR) / "api" / "dashboard";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class DashboardTest : public ApiTest {};

void expect_security_headers(const HttpResult& r) {
  const auto csp = r.header("content-security-policy");
  EXPECT_THAT(csp, HasSubstr("default-src 'self'"));
  EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
  EXPECT_THAT(csp, HasSubstr("connect-src 'self' ws: wss:"));
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe")));  // neither unsafe-inline nor unsafe-eval
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("x-frame-options"), "DENY");
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.header("cache-control"), "no-cache");
}

TEST_F(DashboardTest, RootServesTheEmbeddedIndexHtmlWithoutAToken) {
  auto client = anonymous_client();
  const auto r = client->get("/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.body, read_file(kDashboardDir / "index.html"));
  expect_security_headers(r);
  EXPECT_THAT(r.header("etag"), ::testing::MatchesRegex("\"[0-9a-f]{32}\""));

  // A bad token does not matter either: the files hold no data.
  auto stranger = anonymous_client("tl_not_a_token");
  EXPECT_EQ(stranger->get("/").status, 200);
}

TEST_F(DashboardTest, EveryFileOfTheFolderIsServedByteForByteWithItsType) {
  auto client = anonymous_client();
  int served = 0;
  for (const auto& entry : fs::directory_iterator(kDashboardDir)) {
    const auto name = entry.path().filename().string();
    const auto r = client->get("/dashboard/" + name);
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
    EXPECT_EQ(r.body, read_file(entry.path())) << name;
    EXPECT_EQ(r.header("content-type"), api::dashboard_content_type(name)) << name;
    expect_security_headers(r);
    ++served;
  }
  EXPECT_GE(served, 3);  // index.html, app.js, style.css at least
  EXPECT_EQ(client->get("/dashboard/app.js").header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(client->get("/dashboard/style.css").header("content-type"), "text/css; charset=utf-8");
}

TEST_F(DashboardTest, TheEntityTagRevalidatesTo304AndChangesWithTheFile) {
  auto client = anonymous_client();
  const auto first = client->get("/dashboard/app.js");
  const auto etag = first.header("etag");
  ASSERT_FALSE(etag.empty());
  const auto again = client->get("/dashboard/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), etag);
  expect_security_headers(again);
  // Another file's tag (the client's copy is of another version) gets the file.
  const auto other = client->get("/dashboard/app.js", {{"If-None-Match", client->get("/").header("etag")}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, first.body);
  EXPECT_NE(client->get("/dashboard/style.css").header("etag"), etag);
}

TEST_F(DashboardTest, UnknownFilesAre404AndOtherMethods405) {
  auto client = anonymous_client();
  for (const char* target : {"/dashboard/nope.js", "/dashboard/..%2Fdashboard.cpp", "/dashboard/%2e%2e",
                             "/dashboard/index.html/x", "/dashboard", "/index.html"}) {
    const auto r = client->get(target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.error_code(), "not_found") << target;
    EXPECT_THAT(r.header("content-type"), StartsWith("application/json")) << target;
  }
  const auto post = client->post("/", "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("allow"), "GET, HEAD");
}

// What the policy would refuse at run time, refused here at build time: the page must work under
// script-src 'self' and style-src 'self', and load nothing from elsewhere.
TEST(DashboardFiles, HoldNoInlineScriptNoInlineHandlersAndNoOtherOrigin) {
  const auto html = read_file(kDashboardDir / "index.html");
  const std::regex script_tag(R"(<script\b([^>]*)>([\s\S]*?)</script>)", std::regex::icase);
  int scripts = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script_tag); it != std::sregex_iterator(); ++it) {
    EXPECT_THAT((*it)[1].str(), HasSubstr("src=\"/dashboard/")) << (*it)[0];
    EXPECT_EQ((*it)[2].str(), "") << "inline script: " << (*it)[0];
    ++scripts;
  }
  EXPECT_EQ(scripts, 1);
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase))) << "inline handler";
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\sstyle\s*=)", std::regex::icase))) << "inline style";
  for (const auto& entry : fs::directory_iterator(kDashboardDir)) {
    // An SVG names its XML namespace by a URL that is never fetched.
    const auto text = std::regex_replace(read_file(entry.path()), std::regex(R"( xmlns="http://www\.w3\.org/2000/svg")"), "");
    EXPECT_THAT(text, Not(HasSubstr("https://"))) << entry.path();
    EXPECT_THAT(text, Not(HasSubstr("http://"))) << entry.path();
    // Text from the server reaches the page through textContent only.
    EXPECT_THAT(text, Not(HasSubstr("innerHTML"))) << entry.path();
    EXPECT_THAT(text, Not(HasSubstr("eval("))) << entry.path();
  }
}

// The board has a column per task status of the domain, in the domain's order: a status added to
// core/task.hpp must get its column.
TEST(DashboardFiles, TheBoardsColumnsAreTheDomainsTaskStatuses) {
  const auto js = read_file(kDashboardDir / "app.js");
  std::smatch declaration;
  ASSERT_TRUE(std::regex_search(js, declaration, std::regex(R"(const STATUSES = \[([^\]]*)\];)")));
  std::vector<std::string> columns;
  const std::string list = declaration[1].str();
  const std::regex quoted("'([a-z_]+)'");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), quoted); it != std::sregex_iterator(); ++it) {
    columns.push_back((*it)[1].str());
  }
  std::vector<std::string> statuses;
  for (const auto& [status, name] : EnumNames<TaskStatus>::values) statuses.emplace_back(name);
  EXPECT_EQ(columns, statuses);
}

TEST(DashboardUrl, CarriesTheTokenInTheFragmentOnly) {
  EXPECT_EQ(api::dashboard_url("http://127.0.0.1:8080", "tl_abc-_1"), "http://127.0.0.1:8080/#token=tl_abc-_1");
  EXPECT_EQ(api::dashboard_url("http://[::1]:80", ""), "http://[::1]:80/");
}

}  // namespace
}  // namespace tasklog::testing
