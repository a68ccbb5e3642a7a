// Shared set-up of the /v1 route tests (tests/api/routes_*_pgtest.cpp): two users over real HTTP,
// short-hands to create what a scenario needs, JSON pointers into responses, and the log's head
// for "nothing was appended" checks.
#pragma once

#include "tests/api/api_fixture.hpp"
#include "tests/support/sql.hpp"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include <string>

namespace tasklog::testing {

namespace http = boost::beast::http;

// The string at a JSON pointer of a response ("" when absent or not a string).
inline std::string str_at(const HttpResult& r, const char* pointer) {
  const auto doc = r.json();
  const auto* v = rapidjson::Pointer(pointer).Get(doc);
  return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}
// The integer at a JSON pointer (-1 when absent or not an integer).
inline std::int64_t int_at(const HttpResult& r, const char* pointer) {
  const auto doc = r.json();
  const auto* v = rapidjson::Pointer(pointer).Get(doc);
  return v && v->IsInt64() ? v->GetInt64() : -1;
}
// The size of the array at a JSON pointer (-1 when absent or not an array).
inline int size_at(const HttpResult& r, const char* pointer) {
  const auto doc = r.json();
  const auto* v = rapidjson::Pointer(pointer).Get(doc);
  return v && v->IsArray() ? static_cast<int>(v->Size()) : -1;
}
inline bool has(const HttpResult& r, const char* pointer) {
  const auto doc = r.json();
  return rapidjson::Pointer(pointer).Get(doc) != nullptr;
}
inline bool is_null_at(const HttpResult& r, const char* pointer) {
  const auto doc = r.json();
  const auto* v = rapidjson::Pointer(pointer).Get(doc);
  return v && v->IsNull();
}

class RoutesTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    alice_user = create_user("alice");
    bob_user = create_user("bob");
    alice = alice_user.client();
    bob = bob_user.client();
  }
  void TearDown() override {
    alice.reset();
    bob.reset();
    ApiTest::TearDown();
  }

  // The log's last position (0 when empty), read as the superuser past row-level security.
  std::int64_t head() {
    const std::string v = query_value(conninfo(), "SELECT coalesce(max(position), 0) FROM events");
    return std::stoll(v);
  }

  std::string create_project(HttpClient& client, const std::string& body = R"({"name":"demo"})") {
    const auto r = client.post("/v1/projects", body);
    EXPECT_EQ(r.status, 201u) << r.body;
    return str_at(r, "/data/id");
  }
  std::string create_task(HttpClient& client, const std::string& project, const std::string& body = R"({"title":"t"})") {
    const auto r = client.post("/v1/projects/" + project + "/tasks", body);
    EXPECT_EQ(r.status, 201u) << r.body;
    return str_at(r, "/data/id");
  }
  // Claims a task as `agent`; returns the lease token.
  std::string claim(HttpClient& client, const std::string& task, const std::string& agent = "agent-1") {
    const auto r = client.post("/v1/tasks/" + task + "/claim", R"({"agent":")" + agent + R"("})");
    EXPECT_EQ(r.status, 200u) << r.body;
    return str_at(r, "/lease/token");
  }

  TestUser alice_user, bob_user;
  std::unique_ptr<HttpClient> alice, bob;
};

}  // namespace tasklog::testing
