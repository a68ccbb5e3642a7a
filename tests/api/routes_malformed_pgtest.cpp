// Malformed requests over real HTTP, as a table: each gets its documented status and error code,
// never a 500, and the log is unchanged after each.
#include "tests/api/routes_fixture.hpp"

#include "api/auth.hpp"

#include <gmock/gmock.h>

namespace tasklog::testing {
namespace {

struct Malformed {
  std::string name;
  http::verb method;
  std::string target;  // {P}: a project of the caller, {T}: a task of it
  std::string body;
  HttpHeaders headers;
  unsigned status;
  std::string code;
  std::string detail_path = {};  // the JSON pointer the error names, when it names one
};

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

class MalformedTest : public RoutesTest {};

TEST_F(MalformedTest, EachGetsItsStatusAndCodeAndNothingIsAppended) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  using http::verb;
  const HttpHeaders json{{"Content-Type", "application/json"}};
  const std::vector<Malformed> table{
      {"bad JSON", verb::post, "/v1/projects", R"({"name": )", json, 400, "malformed_json"},
      {"trailing garbage", verb::post, "/v1/projects", R"({"name":"x"} x)", json, 400, "malformed_json"},
      {"not an object", verb::post, "/v1/projects", R"(["name"])", json, 400, "validation_failed"},
      {"deep nesting", verb::post, "/v1/projects", R"({"name":"x","rules":)" + nested(200) + "}", json, 422,
       "validation_failed"},
      {"huge string", verb::post, "/v1/projects/{P}/tasks",
       R"({"title":"x","description":")" + std::string(900 * 1024, 'a') + R"("})", json, 422, "validation_failed",
       "/description"},
      {"body over 1 MiB", verb::post, "/v1/projects", R"({"name":")" + std::string(1100 * 1024, 'a') + R"("})", json,
       413, "payload_too_large"},
      {"wrong content type", verb::post, "/v1/projects", R"({"name":"x"})", {{"Content-Type", "text/plain"}}, 415,
       "unsupported_media_type"},
      {"form content type", verb::post, "/v1/projects/{P}/tasks", "title=x",
       {{"Content-Type", "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"},
      {"bad UUID in path", verb::get, "/v1/projects/123", "", {}, 400, "validation_failed"},
      {"bad UUID in task path", verb::post, "/v1/tasks/zzz/claim", R"({"agent":"a"})", json, 400, "validation_failed"},
      {"bad UUID in body", verb::post, "/v1/projects/{P}/tasks", R"({"title":"x","parent_task_id":"nope"})", json,
       422, "validation_failed", "/parent_task_id"},
      {"negative limit", verb::get, "/v1/projects/{P}/tasks?limit=-1", "", {}, 400, "validation_failed"},
      {"zero limit", verb::get, "/v1/events?limit=0", "", {}, 400, "validation_failed"},
      {"huge limit", verb::get, "/v1/events?limit=100000", "", {}, 400, "validation_failed"},
      {"overflowing limit", verb::get, "/v1/events?limit=99999999999999999999999", "", {}, 400, "validation_failed"},
      {"negative after", verb::get, "/v1/events?after=-5", "", {}, 400, "validation_failed"},
      {"wrong type", verb::post, "/v1/projects/{P}/tasks", R"({"title":42})", json, 400, "validation_failed", "/title"},
      {"wrong nested type", verb::post, "/v1/projects/{P}/tasks", R"({"title":"x","acceptance_criteria":[1]})", json,
       400, "validation_failed", "/acceptance_criteria/0"},
      {"missing required", verb::post, "/v1/projects/{P}/tasks", R"({"description":"no title"})", json, 422,
       "validation_failed", "/title"},
      {"schema violation (enum)", verb::post, "/v1/projects/{P}/tasks", R"({"title":"x","priority":"urgent"})", json,
       422, "validation_failed", "/priority"},
      {"unknown field", verb::post, "/v1/projects/{P}/tasks", R"({"title":"x","colour":"red"})", json, 422,
       "validation_failed", "/colour"},
      {"bad If-Match", verb::patch, "/v1/tasks/{T}", R"({"title":"y"})", {{"If-Match", "v1"}}, 400,
       "validation_failed"},
      {"bad criterion index", verb::post, "/v1/tasks/{T}/criteria/-1", R"({"evidence":"e"})", json, 400,
       "validation_failed"},
      {"unknown route", verb::get, "/v1/nothing-here", "", {}, 404, "not_found"},
      {"raw non-ASCII byte in the target", verb::post, "/v1/projects/{P}/tasks?\xff", R"({"title":"x"})", json, 400,
       "validation_failed"},
      {"escape that is not UTF-8 in the path", verb::get, "/v1/tasks/%FF", "", {}, 400, "validation_failed"},
      {"escape that is not UTF-8 in the query", verb::get, "/v1/projects/{P}/tasks?status=%C3", "", {}, 400,
       "validation_failed"},
      {"unbounded scope check", verb::post, "/v1/tasks/{T}/scope", "{SCOPE}", json, 422, "validation_failed"},
      {"wrong method", verb::put, "/v1/tasks/{T}", R"({"title":"y"})", json, 405, "method_not_allowed"},
  };
  // Rules whose check against 250 long paths would run for minutes on the writer thread: the
  // project's globs first, then the request is refused instead of stalling every other command.
  {
    std::string glob;
    while (glob.size() + 5 < 1000) glob += "**/x/";
    glob += "y";
    std::string globs;
    for (int i = 0; i < 200; ++i) globs += (i ? ",\"" : "\"") + glob + "\"";
    const auto rules = alice->patch("/v1/projects/" + project,
                                    R"({"rules":{"scope":{"allowed":[)" + globs + R"(],"forbidden":[)" + globs + "]}}}");
    ASSERT_EQ(rules.status, 200u) << rules.body.substr(0, 400);
  }
  std::string scope_body;
  {
    std::string path;
    while (path.size() + 2 <= 4000) path += "x/";
    path += "x";
    scope_body = R"({"files_changed":[)";
    for (int i = 0; i < 250; ++i) scope_body += (i ? ",\"" : "\"") + path + "\"";
    scope_body += "]}";
  }
  auto fill = [&](std::string text) {
    if (text == "{SCOPE}") return scope_body;
    for (auto at = text.find("{P}"); at != std::string::npos; at = text.find("{P}")) text.replace(at, 3, project);
    for (auto at = text.find("{T}"); at != std::string::npos; at = text.find("{T}")) text.replace(at, 3, task);
    return text;
  };
  for (const auto& row : table) {
    const auto before = head();
    const auto r = alice->request(row.method, fill(row.target), fill(row.body), row.headers);
    EXPECT_EQ(r.status, row.status) << row.name << ": " << r.body.substr(0, 400);
    EXPECT_EQ(r.error_code(), row.code) << row.name << ": " << r.body.substr(0, 400);
    if (!row.detail_path.empty()) {
      EXPECT_EQ(str_at(r, "/error/details/path"), row.detail_path) << row.name;
    }
    EXPECT_EQ(head(), before) << row.name << " appended";
  }
  // And the server is still answering normally.
  EXPECT_EQ(alice->get("/v1/projects/" + project).status, 200u);
}

TEST_F(MalformedTest, UnauthenticatedRequestsAre401) {
  auto anonymous = anonymous_client();
  EXPECT_EQ(anonymous->get("/v1/projects").status, 401u);
  // Whatever else is wrong with the request: the token is checked first.
  EXPECT_EQ(anonymous->get("/v1/projects?limit=%G1").status, 401u);
  EXPECT_EQ(anonymous->get("/v1/projects/%zz").status, 401u);
  EXPECT_EQ(anonymous->post("/v1/projects", R"({"name":"x"})").status, 401u);
  auto forged = anonymous_client("tl_not-a-real-token");
  EXPECT_EQ(forged->get("/v1/events").status, 401u);
  EXPECT_EQ(head(), 0);
}

// GET /v1/tasks/{id} signs its token in within its one read (RouteOptions::checks_token_itself):
// it refuses exactly like every other route — 401 for a missing, foreign-shaped, unknown or revoked
// token (at once: nothing is cached), also before a malformed id's 400 — and reads for a valid one.
TEST_F(MalformedTest, TheOneRoundTripTaskReadRefusesTokensLikeEveryRoute) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  const std::string target = "/v1/tasks/" + task;
  const auto before = head();
  auto expect_401 = [&](HttpClient& client, const std::string& path, const std::string& what) {
    const auto r = client.get(path);
    EXPECT_EQ(r.status, 401u) << what << ": " << r.body;
    EXPECT_EQ(r.error_code(), "unauthorized") << what;
    EXPECT_THAT(r.header("www-authenticate"), ::testing::HasSubstr("Bearer")) << what;
  };
  auto anonymous = anonymous_client();
  expect_401(*anonymous, target, "no token");
  auto foreign = anonymous_client("tl_not-a-real-token");
  expect_401(*foreign, target, "a token of another shape");
  auto unknown = anonymous_client("tl_" + std::string(43, 'x'));
  expect_401(*unknown, target, "an unknown token");
  expect_401(*unknown, "/v1/tasks/not-a-uuid", "an unknown token and a malformed id");
  EXPECT_EQ(alice->get("/v1/tasks/not-a-uuid").status, 400u);
  EXPECT_EQ(alice->get(target).status, 200u);

  const auto carol = create_user("carol");
  auto carols = carol.client();
  EXPECT_EQ(carols->get(target).status, 404u);  // valid, but not a member: hidden like an unknown id
  {
    pqxx::connection c(conninfo());
    api::revoke_token(c, carol.id, api::list_tokens(c, carol.id).at(0).id);
  }
  expect_401(*carols, target, "a token revoked a moment ago");
  EXPECT_EQ(head(), before);  // reads only
}

}  // namespace
}  // namespace tasklog::testing
