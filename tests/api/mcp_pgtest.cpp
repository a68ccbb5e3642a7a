// /mcp over real HTTP: both protocol eras (classic initialize + Mcp-Session-Id, and 2026-07-28's
// server/discover with mirrored headers), tools/list and an agent's loop through tools/call,
// refusals as isError results, _meta idempotency, resources, JSON-RPC errors, auth and SSE.
#include "core/json.hpp"
#include "tests/api/routes_fixture.hpp"

#include <rapidjson/schema.h>

#include <fmt/format.h>

#include <set>
#include <tuple>
#include <vector>

namespace tasklog::testing {
namespace {

constexpr const char* kAccept = "application/json, text/event-stream";

class McpTest : public RoutesTest {
 protected:
  static HttpHeaders classic(const std::string& session) {
    HttpHeaders h{{"Accept", kAccept}};
    if (!session.empty()) h.emplace_back("Mcp-Session-Id", session);
    return h;
  }
  // The headers a 2026-07-28 client sends: the version, the method and (where there is one) the name.
  static HttpHeaders modern(const std::string& method, const std::string& name = {}) {
    HttpHeaders h{{"Accept", kAccept}, {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", method}};
    if (!name.empty()) h.emplace_back("Mcp-Name", name);
    return h;
  }
  static std::string request(int id, const std::string& method, const std::string& params = "{}") {
    return fmt::format(R"({{"jsonrpc":"2.0","id":{},"method":"{}","params":{}}})", id, method, params);
  }

  // initialize at `version`; returns the response (the session id is in its header).
  HttpResult initialize(HttpClient& client, const std::string& version = "2025-11-25") {
    return client.post("/mcp",
                       request(1, "initialize",
                               fmt::format(R"({{"protocolVersion":"{}","capabilities":{{}},)"
                                           R"("clientInfo":{{"name":"test","version":"1"}}}})",
                                           version)),
                       classic(""));
  }
  std::string open_session(HttpClient& client, const std::string& version = "2025-11-25") {
    const auto r = initialize(client, version);
    EXPECT_EQ(r.status, 200u) << r.body;
    const std::string session = r.header("Mcp-Session-Id");
    EXPECT_FALSE(session.empty());
    const auto initialized =
        client.post("/mcp", R"({"jsonrpc":"2.0","method":"notifications/initialized"})", classic(session));
    EXPECT_EQ(initialized.status, 202u) << initialized.body;
    return session;
  }

  HttpResult call(HttpClient& client, const std::string& session, const std::string& method,
                  const std::string& params = "{}") {
    return client.post("/mcp", request(++next_id_, method, params), classic(session));
  }
  // tools/call; `meta` is the JSON of params._meta when not empty.
  HttpResult tool(HttpClient& client, const std::string& session, const std::string& name, const std::string& args,
                  const std::string& meta = {}) {
    const std::string params =
        meta.empty() ? fmt::format(R"({{"name":"{}","arguments":{}}})", name, args)
                     : fmt::format(R"({{"name":"{}","arguments":{},"_meta":{}}})", name, args, meta);
    return call(client, session, "tools/call", params);
  }
  // A tool call that must succeed; returns the response.
  HttpResult ok_tool(HttpClient& client, const std::string& session, const std::string& name, const std::string& args) {
    auto r = tool(client, session, name, args);
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_TRUE(has(r, "/result/isError") && !r.json()["result"]["isError"].GetBool()) << name << ": " << r.body;
    return r;
  }

  int next_id_ = 100;
};

TEST_F(McpTest, InitializeNegotiatesEachSupportedVersion) {
  for (const std::string version : {"2025-03-26", "2025-06-18", "2025-11-25"}) {
    const auto r = initialize(*alice, version);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(str_at(r, "/result/protocolVersion"), version);
    EXPECT_EQ(str_at(r, "/result/serverInfo/name"), "tasklog");
    EXPECT_TRUE(has(r, "/result/capabilities/tools"));
    EXPECT_TRUE(has(r, "/result/capabilities/resources"));
    EXPECT_FALSE(r.header("Mcp-Session-Id").empty());
    EXPECT_EQ(int_at(r, "/id"), 1);
    EXPECT_FALSE(has(r, "/result/resultType")) << "classic results carry no resultType";
  }
  // A version we do not speak: the newest one we do.
  for (const std::string version : {"2024-11-05", "2099-01-01"}) {
    const auto r = initialize(*alice, version);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(str_at(r, "/result/protocolVersion"), "2025-11-25");
  }
  // Two sessions are two ids.
  EXPECT_NE(initialize(*alice).header("Mcp-Session-Id"), initialize(*alice).header("Mcp-Session-Id"));
}

TEST_F(McpTest, InitializedNotificationIs202AndPingAnswers) {
  const auto session = initialize(*alice).header("Mcp-Session-Id");
  const auto n = alice->post("/mcp", R"({"jsonrpc":"2.0","method":"notifications/initialized"})", classic(session));
  EXPECT_EQ(n.status, 202u);
  EXPECT_TRUE(n.body.empty());
  const auto ping = call(*alice, session, "ping");
  ASSERT_EQ(ping.status, 200u) << ping.body;
  EXPECT_TRUE(ping.json()["result"].IsObject());
  EXPECT_EQ(ping.json()["result"].MemberCount(), 0u);
}

TEST_F(McpTest, SessionHeaderIsRequiredAndDeleteEndsTheSession) {
  const auto missing = call(*alice, "", "tools/list");
  EXPECT_EQ(missing.status, 400u) << missing.body;
  EXPECT_EQ(int_at(missing, "/error/code"), -32600);

  const auto unknown = call(*alice, "no-such-session", "tools/list");
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  EXPECT_EQ(int_at(unknown, "/error/code"), -32001);

  const std::string session = open_session(*alice);
  EXPECT_EQ(call(*alice, session, "tools/list").status, 200u);
  // Another user's session is not theirs to use or end.
  EXPECT_EQ(call(*bob, session, "tools/list").status, 404u);
  EXPECT_EQ(bob->del("/mcp", {}, classic(session)).status, 404u);

  const auto ended = alice->del("/mcp", {}, classic(session));
  EXPECT_EQ(ended.status, 204u) << ended.body;
  const auto after = call(*alice, session, "tools/list");
  EXPECT_EQ(after.status, 404u) << after.body;
  EXPECT_EQ(alice->del("/mcp", {}, classic(session)).status, 404u);
  EXPECT_EQ(alice->del("/mcp", {}, classic("")).status, 400u);
}

TEST_F(McpTest, GetIsMethodNotAllowed) {
  const auto r = alice->get("/mcp", {{"Accept", "text/event-stream"}});
  EXPECT_EQ(r.status, 405u) << r.body;
  EXPECT_NE(r.header("Allow").find("POST"), std::string::npos);
}

TEST_F(McpTest, ServerDiscoverAndTheModernEraNeedNoSession) {
  const auto discover = alice->post("/mcp", request(1, "server/discover",
                                                    R"({"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}})"),
                                    modern("server/discover"));
  ASSERT_EQ(discover.status, 200u) << discover.body;
  EXPECT_EQ(str_at(discover, "/result/resultType"), "complete");
  std::set<std::string> versions;
  const auto discovered = discover.json();  // a range-for over a temporary's member would dangle
  for (const auto& v : discovered["result"]["supportedVersions"].GetArray()) versions.insert(v.GetString());
  EXPECT_EQ(versions, (std::set<std::string>{"2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}));
  EXPECT_TRUE(has(discover, "/result/capabilities/tools"));
  EXPECT_EQ(str_at(discover, "/result/_meta/io.modelcontextprotocol~1serverInfo/name"), "tasklog");
  EXPECT_TRUE(discover.header("Mcp-Session-Id").empty());

  const auto list = alice->post("/mcp", request(2, "tools/list"), modern("tools/list"));
  ASSERT_EQ(list.status, 200u) << list.body;
  EXPECT_EQ(str_at(list, "/result/resultType"), "complete");
  EXPECT_GT(size_at(list, "/result/tools"), 20);
  // Cacheable results carry their cache hints: the tool list is everyone's, resources are yours.
  EXPECT_EQ(str_at(list, "/result/cacheScope"), "public");
  EXPECT_GT(int_at(list, "/result/ttlMs"), 0);
  EXPECT_EQ(str_at(discover, "/result/cacheScope"), "public");
  EXPECT_EQ(str_at(list, "/result/_meta/io.modelcontextprotocol~1serverInfo/name"), "tasklog");

  const auto created = alice->post(
      "/mcp", request(3, "tools/call", R"({"name":"create_project","arguments":{"name":"modern"}})"),
      modern("tools/call", "create_project"));
  ASSERT_EQ(created.status, 200u) << created.body;
  EXPECT_EQ(str_at(created, "/result/resultType"), "complete");
  EXPECT_EQ(str_at(created, "/result/structuredContent/data/name"), "modern");
  const std::string project = str_at(created, "/result/structuredContent/data/id");
  const std::string uri = "tasklog://project/" + project;
  const auto read = alice->post("/mcp", request(4, "resources/read", R"({"uri":")" + uri + R"("})"),
                                modern("resources/read", uri));
  EXPECT_EQ(read.status, 200u) << read.body;
  EXPECT_EQ(str_at(read, "/result/contents/0/uri"), uri);
  EXPECT_EQ(str_at(read, "/result/cacheScope"), "private");
  EXPECT_EQ(int_at(read, "/result/ttlMs"), 0);
  // Not found is -32602 in this era (-32002 before it).
  const auto invisible = bob->post("/mcp", request(5, "resources/read", R"({"uri":")" + uri + R"("})"),
                                   modern("resources/read", uri));
  EXPECT_EQ(int_at(invisible, "/error/code"), -32602) << invisible.body;
  EXPECT_TRUE(has(invisible, "/error/data/rest/error")) << invisible.body;
  const auto templates = alice->post("/mcp", request(6, "resources/templates/list"), modern("resources/templates/list"));
  EXPECT_EQ(str_at(templates, "/result/cacheScope"), "public");
  const auto resources = alice->post("/mcp", request(7, "resources/list"), modern("resources/list"));
  EXPECT_EQ(str_at(resources, "/result/cacheScope"), "private");
}

TEST_F(McpTest, ModernHeadersMustAgreeWithTheBody) {
  const auto expect_mismatch = [&](const HttpResult& r, int code = -32020) {
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_EQ(int_at(r, "/error/code"), code) << r.body;
  };
  // Mcp-Method disagrees.
  expect_mismatch(alice->post("/mcp", request(1, "tools/list"), modern("resources/list")));
  // Mcp-Method missing.
  expect_mismatch(alice->post("/mcp", request(1, "tools/list"),
                              {{"Accept", kAccept}, {"MCP-Protocol-Version", "2026-07-28"}}));
  // Mcp-Name disagrees, and is missing where the method names something.
  const std::string call = request(1, "tools/call", R"({"name":"list_projects","arguments":{}})");
  expect_mismatch(alice->post("/mcp", call, modern("tools/call", "create_project")));
  expect_mismatch(alice->post("/mcp", call, modern("tools/call")));
  EXPECT_EQ(alice->post("/mcp", call, modern("tools/call", "list_projects")).status, 200u);
  // Mcp-Name in its encoded form (2026-07-28, "Value Encoding") is compared decoded; a plain value
  // that is not printable ASCII, or an encoding that is not Base64, is refused.
  EXPECT_EQ(alice->post("/mcp", call, modern("tools/call", "=?base64?bGlzdF9wcm9qZWN0cw==?=")).status, 200u);
  expect_mismatch(alice->post("/mcp", call, modern("tools/call", "=?base64?bGlzdF9wcm9qZWN0cw?=")));
  expect_mismatch(alice->post("/mcp", call, modern("tools/call", "=?base64?Y3JlYXRlX3Byb2plY3Q=?=")));
  const std::string unicode = request(1, "tools/call", R"({"name":"héllo","arguments":{}})");
  const auto encoded = alice->post("/mcp", unicode, modern("tools/call", "=?base64?aMOpbGxv?="));
  EXPECT_EQ(encoded.status, 200u) << encoded.body;  // past the headers: an unknown tool
  EXPECT_EQ(int_at(encoded, "/error/code"), -32602) << encoded.body;
  expect_mismatch(alice->post("/mcp", unicode, modern("tools/call", "h\xc3\xa9llo")));
  // The version in _meta disagrees with the header, or comes without it.
  const std::string old_meta =
      request(1, "tools/list", R"({"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}})");
  expect_mismatch(alice->post("/mcp", old_meta, modern("tools/list")));
  const std::string new_meta =
      request(1, "tools/list", R"({"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}})");
  expect_mismatch(alice->post("/mcp", new_meta, {{"Accept", kAccept}, {"Mcp-Method", "tools/list"}}));
  // A version nobody speaks.
  auto headers = modern("tools/list");
  headers[1].second = "2030-01-01";
  const auto unsupported = alice->post("/mcp", request(1, "tools/list"), headers);
  expect_mismatch(unsupported, -32022);
  // Header values that are not printable ASCII are not echoed into the error: its body stays UTF-8.
  auto latin1 = modern("t\xE9st");
  const auto odd_method = alice->post("/mcp", request(1, "tools/list"), latin1);
  expect_mismatch(odd_method);
  EXPECT_TRUE(is_utf8(odd_method.body)) << odd_method.body;
  latin1[1].second = "\xFF";
  const auto odd_version = alice->post("/mcp", request(1, "tools/list"), latin1);
  expect_mismatch(odd_version, -32022);
  EXPECT_TRUE(is_utf8(odd_version.body)) << odd_version.body;
  EXPECT_EQ(size_at(unsupported, "/error/data/supported"), 4);
  // Batches do not exist in this era.
  const auto batch = alice->post("/mcp", "[" + request(1, "ping") + "]", modern("ping"));
  expect_mismatch(batch, -32600);
}

TEST_F(McpTest, ToolsListNamesEveryToolWithSmallValidSchemas) {
  const std::string session = open_session(*alice);
  const auto r = call(*alice, session, "tools/list");
  ASSERT_EQ(r.status, 200u) << r.body;
  const std::set<std::string> expected{
      "create_project", "list_projects",  "get_context",     "create_task",       "list_tasks",
      "update_task",    "pick_next_task", "claim_task",      "heartbeat_task",    "release_task",
      "block_task",     "unblock_task",   "mark_criterion",  "evaluate_gates",    "assert_in_scope",
      "complete_task",  "fail_task",      "cancel_task",     "add_dependency",    "append_artifact",
      "append_message", "create_checkpoint", "record_decision", "get_task_timeline"};
  std::set<std::string> names;
  const auto doc = r.json();
  for (const auto& t : doc["result"]["tools"].GetArray()) {
    const std::string name = t["name"].GetString();
    names.insert(name);
    EXPECT_TRUE(t["description"].IsString() && t["description"].GetStringLength() > 10) << name;
    EXPECT_LE(t["description"].GetStringLength(), 220u) << name;
    const auto& schema = t["inputSchema"];
    ASSERT_TRUE(schema.IsObject()) << name;
    EXPECT_STREQ(schema["type"].GetString(), "object") << name;
    EXPECT_TRUE(schema["properties"].IsObject()) << name;
    rapidjson::SchemaDocument compiled(schema);  // a valid JSON Schema: RapidJSON compiles it
    (void)compiled;
  }
  EXPECT_EQ(names, expected);
  // Path ids are properties of the schemas.
  for (const auto& t : doc["result"]["tools"].GetArray()) {
    const std::string name = t["name"].GetString();
    const auto& properties = t["inputSchema"]["properties"];
    if (name == "claim_task") {
      EXPECT_TRUE(properties.HasMember("task_id"));
    } else if (name == "create_task") {
      EXPECT_TRUE(properties.HasMember("project_id"));
    } else if (name == "mark_criterion") {
      EXPECT_TRUE(properties.HasMember("index"));
    }
  }
  const std::size_t bytes = to_json(doc["result"]).size();
  std::printf("tools/list result: %zu bytes for %zu tools\n", bytes, names.size());
  RecordProperty("tools_list_bytes", static_cast<int>(bytes));
  EXPECT_LT(bytes, 12u * 1024u) << "tool schemas cost an agent tokens: keep tools/list small";
}

TEST_F(McpTest, AnAgentLoopThroughToolCalls) {
  const std::string s = open_session(*alice);
  const auto project = ok_tool(*alice, s, "create_project", R"({"name":"loop"})");
  const std::string p = str_at(project, "/result/structuredContent/data/id");
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(str_at(project, "/result/content/0/type"), "text");
  // The text is the REST body as the route wrote it; structuredContent is the same JSON.
  EXPECT_EQ(canonical_json(std::string_view(project.json()["result"]["content"][0]["text"].GetString())),
            canonical_json(project.json()["result"]["structuredContent"]));

  const auto first = ok_tool(*alice, s, "create_task", R"({"project_id":")" + p + R"(","title":"first"})");
  const std::string a = str_at(first, "/result/structuredContent/data/id");
  const auto second = ok_tool(*alice, s, "create_task",
                              R"({"project_id":")" + p + R"(","title":"second","dependencies":[")" + a + R"("]})");
  const std::string b = str_at(second, "/result/structuredContent/data/id");
  EXPECT_EQ(str_at(second, "/result/structuredContent/data/dependencies/0"), a);

  const auto ready = ok_tool(*alice, s, "list_tasks", R"({"project_id":")" + p + R"(","ready":true})");
  EXPECT_EQ(size_at(ready, "/result/structuredContent/data"), 1);

  // The dependency holds the second task back: the first is picked.
  const auto picked = ok_tool(*alice, s, "pick_next_task", R"({"project_id":")" + p + R"(","agent":"agent-1"})");
  EXPECT_EQ(str_at(picked, "/result/structuredContent/data/id"), a);
  const std::string token = str_at(picked, "/result/structuredContent/lease/token");
  ASSERT_FALSE(token.empty()) << picked.body;

  ok_tool(*alice, s, "heartbeat_task", R"({"task_id":")" + a + R"(","lease_token":")" + token + R"("})");
  const auto artifact = ok_tool(*alice, s, "append_artifact",
                                R"({"task_id":")" + a + R"(","lease_token":")" + token +
                                    R"(","type":"diff","summary":"the change","ref":"commit abc"})");
  EXPECT_FALSE(str_at(artifact, "/result/structuredContent/data/id").empty());
  const auto done = ok_tool(*alice, s, "complete_task",
                            R"({"task_id":")" + a + R"(","lease_token":")" + token + R"(","summary":"done"})");
  EXPECT_EQ(str_at(done, "/result/structuredContent/data/status"), "done");

  const auto next = ok_tool(*alice, s, "pick_next_task", R"({"project_id":")" + p + R"(","agent":"agent-1"})");
  EXPECT_EQ(str_at(next, "/result/structuredContent/data/id"), b);
  const auto nothing = ok_tool(*alice, s, "pick_next_task", R"({"project_id":")" + p + R"(","agent":"agent-2"})");
  EXPECT_TRUE(is_null_at(nothing, "/result/structuredContent/data")) << nothing.body;

  const auto checkpoint = ok_tool(*alice, s, "create_checkpoint",
                                  R"({"project_id":")" + p + R"(","label":"halfway","summary":"first done"})");
  EXPECT_EQ(str_at(checkpoint, "/result/structuredContent/data/label"), "halfway");
  const auto decision = ok_tool(*alice, s, "record_decision",
                                R"({"project_id":")" + p +
                                    R"(","title":"storage","choice":"postgres","rationale":"one log"})");
  EXPECT_EQ(str_at(decision, "/result/structuredContent/data/choice"), "postgres");

  const auto timeline = ok_tool(*alice, s, "get_task_timeline", R"({"task_id":")" + a + R"("})");
  const auto events = timeline.json();
  std::vector<std::string> types;
  for (const auto& e : events["result"]["structuredContent"]["data"].GetArray()) types.push_back(e["type"].GetString());
  ASSERT_GE(types.size(), 4u) << timeline.body;
  EXPECT_EQ(types.front(), "TaskCreated");
  EXPECT_EQ(types.back(), "TaskCompleted");

  const auto context = ok_tool(*alice, s, "get_context", R"({"project_id":")" + p + R"("})");
  EXPECT_TRUE(has(context, "/result/structuredContent/data")) << context.body;
  // b is held (picked above): its holder changes it with the lease token.
  const auto updated = ok_tool(*alice, s, "update_task",
                               R"({"task_id":")" + b + R"(","priority":"high","lease_token":")" +
                                   str_at(next, "/result/structuredContent/lease/token") + R"("})");
  EXPECT_EQ(str_at(updated, "/result/structuredContent/data/priority"), "high");
}

TEST_F(McpTest, RefusalsAreToolErrorsWithTheRestCodes) {
  const std::string s = open_session(*alice);
  const std::string p = create_project(*alice);
  const std::string t = create_task(*alice, p);
  claim(*alice, t);
  const auto expect_refusal = [](const HttpResult& r, const std::string& code) {
    EXPECT_EQ(r.status, 200u) << r.body;
    ASSERT_TRUE(has(r, "/result/isError")) << r.body;
    EXPECT_TRUE(r.json()["result"]["isError"].GetBool()) << r.body;
    EXPECT_EQ(str_at(r, "/result/structuredContent/error/code"), code) << r.body;
    EXPECT_FALSE(str_at(r, "/result/structuredContent/error/message").empty());
    EXPECT_NE(str_at(r, "/result/content/0/text").find(code), std::string::npos);
  };
  const std::string stale = "00000000-0000-4000-8000-000000000000";
  expect_refusal(tool(*alice, s, "complete_task",
                      R"({"task_id":")" + t + R"(","lease_token":")" + stale + R"(","summary":"x"})"),
                 "lease_lost");
  expect_refusal(tool(*alice, s, "create_task", R"({"project_id":")" + p + R"("})"), "validation_failed");
  expect_refusal(tool(*alice, s, "claim_task", R"({"agent":"x"})"), "validation_failed");
  expect_refusal(tool(*alice, s, "claim_task", R"({"task_id":"nope","agent":"x"})"), "validation_failed");
  expect_refusal(tool(*alice, s, "list_tasks", R"({"project_id":")" + p + R"(","bogus":1})"), "validation_failed");
  // A read tool's arguments are checked against the schema tools/list publishes: the route would
  // have read "5" as a limit and "yes"... as whatever its query parser makes of it.
  for (const auto& [tool_name, args, path] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"list_tasks", R"(,"limit":"5")", "/limit"},
           {"list_tasks", R"(,"limit":501)", "/limit"},
           {"list_tasks", R"(,"ready":"true")", "/ready"},
           {"list_tasks", R"(,"status":"finished")", "/status"},
           {"get_context", R"(,"at":-1)", "/at"},
           {"get_context", R"(,"at":[3])", "/at"},
       }) {
    const auto r = tool(*alice, s, tool_name, R"({"project_id":")" + p + "\"" + args + "}");
    expect_refusal(r, "validation_failed");
    EXPECT_EQ(str_at(r, "/result/structuredContent/error/details/path"), path) << r.body;
    EXPECT_EQ(str_at(r, "/result/structuredContent/error/details/tool"), tool_name) << r.body;
  }
  expect_refusal(tool(*alice, s, "get_task_timeline", R"({"task_id":")" + t + R"(","after":"0"})"),
                 "validation_failed");
  // expected_version is update_task's If-Match.
  expect_refusal(tool(*alice, s, "update_task", R"({"task_id":")" + t + R"(","title":"x","expected_version":99})"),
                 "version_conflict");
  // Another user's project is not found, exactly as in REST.
  const std::string bs = open_session(*bob);
  expect_refusal(tool(*bob, bs, "create_task", R"({"project_id":")" + p + R"(","title":"x"})"), "not_found");
  expect_refusal(tool(*bob, bs, "get_context", R"({"project_id":")" + p + R"("})"), "not_found");
}

TEST_F(McpTest, AnIdempotencyKeyInMetaMakesARetryAppendNothing) {
  const std::string s = open_session(*alice);
  const std::string p = create_project(*alice);
  const std::string args = R"({"project_id":")" + p + R"(","title":"once"})";
  const auto first = tool(*alice, s, "create_task", args, R"({"idempotency_key":"mcp-key-1"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string task = str_at(first, "/result/structuredContent/data/id");
  const auto head_after_first = head();
  const auto retry = tool(*alice, s, "create_task", args, R"({"idempotency_key":"mcp-key-1"})");
  ASSERT_EQ(retry.status, 200u) << retry.body;
  EXPECT_EQ(str_at(retry, "/result/structuredContent/data/id"), task);
  EXPECT_EQ(head(), head_after_first);
  // The same key with other arguments is refused, like Idempotency-Key in REST.
  const auto conflict = tool(*alice, s, "create_task", R"({"project_id":")" + p + R"(","title":"other"})",
                             R"({"idempotency_key":"mcp-key-1"})");
  EXPECT_EQ(str_at(conflict, "/result/structuredContent/error/code"), "idempotency_conflict") << conflict.body;
  EXPECT_EQ(head(), head_after_first);
  // Without a key, a second call is a second task.
  tool(*alice, s, "create_task", args);
  EXPECT_GT(head(), head_after_first);
}

TEST_F(McpTest, ResourcesListTemplatesAndRead) {
  const std::string s = open_session(*alice);
  const std::string p = create_project(*alice);
  const std::string t = create_task(*alice, p);
  const auto cp = alice->post("/v1/projects/" + p + "/checkpoints", R"({"label":"c","summary":"s"})");
  const std::string checkpoint = str_at(cp, "/data/id");
  alice->post("/v1/projects/" + p + "/decisions", R"({"title":"d","choice":"x","rationale":"y"})");

  const auto list = call(*alice, s, "resources/list");
  ASSERT_EQ(list.status, 200u) << list.body;
  std::set<std::string> uris;
  const auto listed = list.json();
  for (const auto& r : listed["result"]["resources"].GetArray()) uris.insert(r["uri"].GetString());
  EXPECT_TRUE(uris.count("tasklog://projects"));
  EXPECT_TRUE(uris.count("tasklog://project/" + p));

  const auto templates = call(*alice, s, "resources/templates/list");
  std::set<std::string> patterns;
  const auto templated = templates.json();
  for (const auto& r : templated["result"]["resourceTemplates"].GetArray())
    patterns.insert(r["uriTemplate"].GetString());
  EXPECT_EQ(patterns, (std::set<std::string>{"tasklog://project/{id}", "tasklog://project/{id}/tasks",
                                             "tasklog://project/{id}/timeline", "tasklog://project/{id}/decisions",
                                             "tasklog://task/{id}", "tasklog://task/{id}/events",
                                             "tasklog://checkpoint/{id}"}));

  const auto read = [&](HttpClient& client, const std::string& session, const std::string& uri) {
    return call(client, session, "resources/read", R"({"uri":")" + uri + R"("})");
  };
  // Each resource reads as the JSON its REST route answers.
  const std::vector<std::pair<std::string, std::string>> cases{
      {"tasklog://projects", "/v1/projects"},
      {"tasklog://project/" + p, "/v1/projects/" + p},
      {"tasklog://project/" + p + "/tasks", "/v1/projects/" + p + "/tasks"},
      {"tasklog://project/" + p + "/timeline", "/v1/projects/" + p + "/events"},
      {"tasklog://project/" + p + "/decisions", "/v1/projects/" + p + "/decisions"},
      {"tasklog://task/" + t, "/v1/tasks/" + t},
      {"tasklog://task/" + t + "/events?limit=1", "/v1/tasks/" + t + "/events?limit=1"},
      {"tasklog://checkpoint/" + checkpoint, "/v1/checkpoints/" + checkpoint},
  };
  for (const auto& [uri, rest] : cases) {
    const auto r = read(*alice, s, uri);
    ASSERT_EQ(r.status, 200u) << uri << ": " << r.body;
    EXPECT_EQ(str_at(r, "/result/contents/0/uri"), uri);
    EXPECT_EQ(str_at(r, "/result/contents/0/mimeType"), "application/json");
    EXPECT_EQ(str_at(r, "/result/contents/0/text"), alice->get(rest).body) << uri;
  }

  // Another user's project, task and checkpoint are not found; a URI that names nothing is invalid.
  const std::string bs = open_session(*bob);
  for (const std::string& uri : {"tasklog://project/" + p, "tasklog://task/" + t, "tasklog://checkpoint/" + checkpoint}) {
    const auto r = read(*bob, bs, uri);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(int_at(r, "/error/code"), -32002) << uri << ": " << r.body;
  }
  EXPECT_EQ(int_at(read(*alice, s, "tasklog://nothing/here"), "/error/code"), -32602);
  EXPECT_EQ(int_at(read(*alice, s, "tasklog://task/not-a-uuid"), "/error/code"), -32602);
  EXPECT_EQ(int_at(read(*alice, s, "https://example.com/"), "/error/code"), -32602);
  // One URI per resource: a trailing slash names nothing (it read the project).
  EXPECT_EQ(int_at(read(*alice, s, "tasklog://project/" + p + "/"), "/error/code"), -32602);
  EXPECT_EQ(int_at(read(*alice, s, "tasklog://projects/"), "/error/code"), -32602);
  // Bob's list does not show Alice's project.
  const auto bobs = call(*bob, bs, "resources/list");
  EXPECT_EQ(bobs.body.find(p), std::string::npos);
}

TEST_F(McpTest, JsonRpcErrors) {
  const std::string s = open_session(*alice);
  const auto parse = alice->post("/mcp", "{not json", classic(s));
  EXPECT_EQ(parse.status, 400u);
  EXPECT_EQ(int_at(parse, "/error/code"), -32700);
  EXPECT_TRUE(is_null_at(parse, "/id"));

  const auto expect_code = [&](const std::string& body, int code, unsigned status = 200) {
    const auto r = alice->post("/mcp", body, classic(s));
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_EQ(int_at(r, "/error/code"), code) << body << " -> " << r.body;
    EXPECT_EQ(str_at(r, "/jsonrpc"), "2.0");
  };
  // Not a JSON-RPC message at all: -32600 with 400, as Streamable HTTP has an input the server
  // cannot accept answered with an HTTP error status.
  expect_code(R"({"jsonrpc":"1.0","id":1,"method":"ping"})", -32600, 400);
  expect_code(R"({"jsonrpc":"2.0","id":1})", -32600, 400);
  expect_code(R"({"jsonrpc":"2.0","id":null,"method":"ping"})", -32600, 400);
  expect_code(R"({"jsonrpc":"2.0","method":7})", -32600, 400);
  expect_code(R"(42)", -32600, 400);
  expect_code(request(7, "no/such/method"), -32601);
  expect_code(request(7, "tools/call", R"({"name":"no_such_tool","arguments":{}})"), -32602);
  expect_code(request(7, "tools/call", R"({"name":"list_projects","arguments":[1]})"), -32602);
  expect_code(request(7, "tools/call", R"({"arguments":{}})"), -32602);
  expect_code(request(7, "resources/read", R"({})"), -32602);
  expect_code(R"({"jsonrpc":"2.0","id":7,"method":"ping","params":[1]})", -32602);
  // JSON that breaks a limit of ours is still a request: invalid params, with its id, when the id
  // can be read (U+0000 in a string, nesting deeper than 64) — a model can correct its arguments.
  const auto limited = [&](const std::string& arguments) {
    const auto r = alice->post(
        "/mcp", R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"create_project","arguments":)" +
                    arguments + "}}",
        classic(s));
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(int_at(r, "/error/code"), -32602) << r.body;
    EXPECT_EQ(int_at(r, "/id"), 9) << r.body;
  };
  limited(R"({"name":"a\u0000b"})");
  // ... after the transport's own checks, as any request: a session that is missing or unknown, a
  // version nobody speaks, a modern request without its headers are refused as such.
  const std::string nul = R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"create_project",)"
                          R"("arguments":{"name":"a\u0000b"}}})";
  const auto without_session = alice->post("/mcp", nul, classic(""));
  EXPECT_EQ(without_session.status, 400u) << without_session.body;
  EXPECT_EQ(int_at(without_session, "/error/code"), -32600) << without_session.body;
  const auto unknown_session = alice->post("/mcp", nul, classic("no-such-session"));
  EXPECT_EQ(unknown_session.status, 404u) << unknown_session.body;
  EXPECT_EQ(int_at(unknown_session, "/error/code"), -32001) << unknown_session.body;
  auto odd_version = classic(s);
  odd_version.emplace_back("MCP-Protocol-Version", "1999-01-01");
  const auto unsupported = alice->post("/mcp", nul, odd_version);
  EXPECT_EQ(unsupported.status, 400u) << unsupported.body;
  EXPECT_EQ(int_at(unsupported, "/error/code"), -32022) << unsupported.body;
  const auto headerless = alice->post("/mcp", nul, {{"Accept", kAccept}, {"MCP-Protocol-Version", "2026-07-28"}});
  EXPECT_EQ(headerless.status, 400u) << headerless.body;
  EXPECT_EQ(int_at(headerless, "/error/code"), -32020) << headerless.body;
  limited(R"({"name":"deep","description":)" + std::string(100, '[') + std::string(100, ']') + "}");
  limited(R"({"name":"lone \udc00 surrogate"})");
  // ... and an invalid request when there is no id to answer (here a notification).
  expect_code(R"({"jsonrpc":"2.0","method":"notifications/x","params":{"x":"a\u0000b"}})", -32600, 400);
  // The id is echoed, string ids included.
  const auto r = alice->post("/mcp", R"({"jsonrpc":"2.0","id":"abc","method":"nope"})", classic(s));
  EXPECT_EQ(str_at(r, "/id"), "abc");
  // ... and any JSON number (MCP's RequestId is string | number), beyond int64 and fractional too.
  for (const std::string id : {"9223372036854775808", "18446744073709551615", "1.5", "-3"}) {
    const auto n = alice->post("/mcp", R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"ping"})", classic(s));
    ASSERT_EQ(n.status, 200u) << id << " -> " << n.body;
    EXPECT_NE(n.body.find(R"("id":)" + id), std::string::npos) << n.body;
    EXPECT_TRUE(n.json()["result"].IsObject()) << n.body;
  }
  expect_code(R"({"jsonrpc":"2.0","id":true,"method":"ping"})", -32600, 400);

  // Batches: refused after 2025-03-26, answered per message in a 2025-03-26 session.
  expect_code("[" + request(1, "ping") + "]", -32600, 400);
  const std::string old = open_session(*alice, "2025-03-26");
  const auto batch = alice->post(
      "/mcp", "[" + request(1, "ping") + "," + R"({"jsonrpc":"2.0","method":"notifications/x"})" + "," +
                  request(2, "no/such") + "]",
      classic(old));
  ASSERT_EQ(batch.status, 200u) << batch.body;
  const auto answers = batch.json();
  ASSERT_TRUE(answers.IsArray());
  ASSERT_EQ(answers.Size(), 2u);
  EXPECT_EQ(answers[0]["id"].GetInt(), 1);
  EXPECT_TRUE(answers[0].HasMember("result"));
  EXPECT_EQ(answers[1]["error"]["code"].GetInt(), -32601);
  const auto only_notifications =
      alice->post("/mcp", R"([{"jsonrpc":"2.0","method":"notifications/x"}])", classic(old));
  EXPECT_EQ(only_notifications.status, 202u);
  const auto init_in_batch = alice->post(
      "/mcp", "[" + request(1, "initialize", R"({"protocolVersion":"2025-03-26"})") + "]", classic(old));
  EXPECT_EQ(init_in_batch.json()[0]["error"]["code"].GetInt(), -32600);

  // A batch runs on one thread and holds its answers until the last: at most 100 messages.
  const auto pings = [&](int n) {
    std::string body = "[";
    for (int i = 0; i < n; ++i) body += (i ? "," : "") + request(i + 1, "ping");
    return body + "]";
  };
  const auto hundred = alice->post("/mcp", pings(100), classic(old));
  ASSERT_EQ(hundred.status, 200u) << hundred.body;
  EXPECT_EQ(hundred.json().Size(), 100u);
  const auto too_many = alice->post("/mcp", pings(101), classic(old));
  EXPECT_EQ(too_many.status, 400u) << too_many.body;
  EXPECT_EQ(int_at(too_many, "/error/code"), -32600);
}

// DELETE /mcp answers an MCP-Protocol-Version we do not speak like every other request: 400, and
// the session lives on.
TEST_F(McpTest, DeleteChecksTheProtocolVersionHeader) {
  const std::string s = open_session(*alice);
  auto headers = classic(s);
  headers.emplace_back("MCP-Protocol-Version", "banana");
  const auto refused = alice->del("/mcp", {}, headers);
  EXPECT_EQ(refused.status, 400u) << refused.body;
  EXPECT_EQ(int_at(refused, "/error/code"), -32022);
  EXPECT_EQ(call(*alice, s, "ping").status, 200u);
  auto good = classic(s);
  good.emplace_back("MCP-Protocol-Version", "2025-11-25");
  EXPECT_EQ(alice->del("/mcp", {}, good).status, 204u);
  EXPECT_EQ(call(*alice, s, "ping").status, 404u);
}

// Streamable HTTP's DNS-rebinding rule: an Origin other than the server's own is 403, on POST and
// DELETE; the server's own origin and no Origin at all (clients outside browsers) are served.
TEST_F(McpTest, AForeignOriginIsForbidden) {
  const std::string s = open_session(*alice);
  auto foreign = classic(s);
  foreign.emplace_back("Origin", "http://evil.example");
  const auto refused = alice->post("/mcp", request(1, "ping"), foreign);
  EXPECT_EQ(refused.status, 403u) << refused.body;
  EXPECT_EQ(int_at(refused, "/error/code"), -32600);
  EXPECT_EQ(alice->del("/mcp", {}, foreign).status, 403u);
  // Before anything else about the request is looked at: a body that is not JSON, or no token.
  auto foreign_text = foreign;
  foreign_text.emplace_back("Content-Type", "text/plain");
  EXPECT_EQ(alice->post("/mcp", "not json", foreign_text).status, 403u);
  HttpClient anonymous(endpoint(), "");
  EXPECT_EQ(anonymous.post("/mcp", request(1, "ping"), foreign).status, 403u);
  EXPECT_EQ(anonymous.del("/mcp", {}, foreign).status, 403u);
  EXPECT_EQ(anonymous.post("/mcp", request(1, "ping"), classic(s)).status, 401u);  // its own origin: the token counts
  auto odd_origin = classic(s);
  odd_origin.emplace_back("Origin", "http://\xE9vil.example");
  const auto odd = alice->post("/mcp", request(1, "ping"), odd_origin);
  EXPECT_EQ(odd.status, 403u) << odd.body;
  EXPECT_TRUE(is_utf8(odd.body)) << odd.body;
  auto own = classic(s);
  own.emplace_back("Origin", "http://" + endpoint().address().to_string() + ":" + std::to_string(endpoint().port()));
  EXPECT_EQ(alice->post("/mcp", request(2, "ping"), own).status, 200u);
  EXPECT_EQ(call(*alice, s, "ping").status, 200u);
}

// update_task is a PATCH; its idempotency key is honoured like every other tool's: a retry whose
// first answer was lost gets that answer again instead of a version_conflict, and appends nothing.
TEST_F(McpTest, UpdateTaskWithAnIdempotencyKeyReplays) {
  const std::string s = open_session(*alice);
  const std::string p = create_project(*alice);
  const std::string t = create_task(*alice, p);
  const std::string args = R"({"task_id":")" + t + R"(","title":"renamed","expected_version":1})";
  const auto first = tool(*alice, s, "update_task", args, R"({"idempotency_key":"mcp-update-1"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  ASSERT_FALSE(first.json()["result"]["isError"].GetBool()) << first.body;
  const auto after_first = head();
  const auto retry = tool(*alice, s, "update_task", args, R"({"idempotency_key":"mcp-update-1"})");
  ASSERT_EQ(retry.status, 200u) << retry.body;
  EXPECT_FALSE(retry.json()["result"]["isError"].GetBool()) << retry.body;
  EXPECT_EQ(str_at(retry, "/result/structuredContent/data/title"), "renamed");
  EXPECT_EQ(head(), after_first);
}

// JSON-RPC never answers a notification — not even one whose params are wrong.
TEST_F(McpTest, ANotificationWithBadParamsIsNotAnswered) {
  const std::string s = open_session(*alice);
  for (const std::string params : {"[]", "5", "null", R"("text")"}) {
    const auto r = alice->post(
        "/mcp", R"({"jsonrpc":"2.0","method":"notifications/initialized","params":)" + params + "}", classic(s));
    EXPECT_EQ(r.status, 202u) << params << " -> " << r.body;
    EXPECT_TRUE(r.body.empty()) << params << " -> " << r.body;
  }
  const std::string old = open_session(*alice, "2025-03-26");
  const auto batch = alice->post(
      "/mcp", R"([{"jsonrpc":"2.0","method":"notifications/x","params":[1]},{"jsonrpc":"2.0","method":"notifications/y"}])",
      classic(old));
  EXPECT_EQ(batch.status, 202u) << batch.body;
  EXPECT_TRUE(batch.body.empty()) << batch.body;
  // A request (it has an id) with bad params is still answered with -32602.
  const auto request_with_bad_params =
      alice->post("/mcp", R"({"jsonrpc":"2.0","id":3,"method":"ping","params":[]})", classic(s));
  EXPECT_EQ(int_at(request_with_bad_params, "/error/code"), -32602) << request_with_bad_params.body;
}

// The 2026-07-28 era has no handshake: initialize there is an unknown method, and opens nothing.
// An unknown method in that era is 404 with -32601 ("MUST respond with 404 Not Found"): how a
// client that speaks both eras tells a modern server from an older one. Earlier eras keep 200.
TEST_F(McpTest, InitializeDoesNotExistInTheModernEra) {
  const auto unknown = alice->post("/mcp", request(1, "no/such"), modern("no/such"));
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  EXPECT_EQ(int_at(unknown, "/error/code"), -32601) << unknown.body;
  const auto classic_unknown = call(*alice, open_session(*alice), "no/such");
  EXPECT_EQ(classic_unknown.status, 200u) << classic_unknown.body;
  EXPECT_EQ(int_at(classic_unknown, "/error/code"), -32601) << classic_unknown.body;
  const auto r = alice->post("/mcp", request(1, "initialize", R"({"protocolVersion":"2026-07-28"})"),
                             modern("initialize"));
  EXPECT_EQ(r.status, 404u) << r.body;
  EXPECT_EQ(int_at(r, "/error/code"), -32601) << r.body;
  EXPECT_TRUE(r.header("Mcp-Session-Id").empty()) << "no session is opened";
}

// In a classic 2025-03-26 session the mirrored headers are optional but checked when present —
// against every message of a batch, as against a single message.
TEST_F(McpTest, ClassicBatchesAreCheckedAgainstTheMirroredHeaders) {
  const std::string old = open_session(*alice, "2025-03-26");
  const std::string batch = "[" + request(1, "ping") + "," + request(2, "tools/list") + "]";
  auto with_method = classic(old);
  with_method.emplace_back("Mcp-Method", "ping");
  const auto mismatch = alice->post("/mcp", batch, with_method);
  EXPECT_EQ(mismatch.status, 400u) << mismatch.body;
  EXPECT_EQ(int_at(mismatch, "/error/code"), -32020) << mismatch.body;
  // A message that names its version in _meta needs the header, in a batch too.
  const std::string meta_batch =
      "[" + request(1, "ping", R"({"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-03-26"}})") + "]";
  const auto no_header = alice->post("/mcp", meta_batch, classic(old));
  EXPECT_EQ(no_header.status, 400u) << no_header.body;
  EXPECT_EQ(int_at(no_header, "/error/code"), -32020) << no_header.body;
  // Headers that agree with every message, or none at all: answered.
  auto pings = classic(old);
  pings.emplace_back("Mcp-Method", "ping");
  const auto agreeing = alice->post("/mcp", "[" + request(1, "ping") + "," + request(2, "ping") + "]", pings);
  EXPECT_EQ(agreeing.status, 200u) << agreeing.body;
  EXPECT_EQ(alice->post("/mcp", batch, classic(old)).status, 200u);
}

TEST_F(McpTest, UnauthenticatedIs401WithWwwAuthenticate) {
  auto anonymous = anonymous_client();
  const auto r = anonymous->post("/mcp", request(1, "initialize", R"({"protocolVersion":"2025-11-25"})"),
                                 classic(""));
  EXPECT_EQ(r.status, 401u);
  EXPECT_NE(r.header("WWW-Authenticate").find("Bearer"), std::string::npos);
  auto wrong = anonymous_client("not-a-token");
  EXPECT_EQ(wrong->post("/mcp", request(1, "ping"), modern("ping")).status, 401u);
}

TEST_F(McpTest, SseWhenTheAcceptHeaderRequiresIt) {
  const std::string s = open_session(*alice);
  const auto sse = alice->post("/mcp", request(5, "ping"), {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", s}});
  ASSERT_EQ(sse.status, 200u) << sse.body;
  EXPECT_EQ(sse.header("Content-Type"), "text/event-stream");
  const std::string prefix = "event: message\ndata: ";
  ASSERT_EQ(sse.body.rfind(prefix, 0), 0u) << sse.body;
  ASSERT_TRUE(sse.body.ends_with("\n\n"));
  rapidjson::Document message;
  const std::string data = sse.body.substr(prefix.size(), sse.body.size() - prefix.size() - 2);
  message.Parse(data.c_str());
  ASSERT_FALSE(message.HasParseError()) << data;
  EXPECT_EQ(message["id"].GetInt(), 5);
  EXPECT_TRUE(message["result"].IsObject());

  // JSON refused with q=0: SSE as well.
  const auto refused = alice->post("/mcp", request(6, "ping"),
                                   {{"Accept", "application/json;q=0, text/event-stream"}, {"Mcp-Session-Id", s}});
  EXPECT_EQ(refused.header("Content-Type"), "text/event-stream");
  // Both accepted: JSON, as the SDKs read either.
  const auto both = call(*alice, s, "ping");
  EXPECT_EQ(both.header("Content-Type"), "application/json");
  // Neither: 406.
  const auto neither = alice->post("/mcp", request(6, "ping"), {{"Accept", "text/html"}, {"Mcp-Session-Id", s}});
  EXPECT_EQ(neither.status, 406u);
}

}  // namespace
}  // namespace tasklog::testing
