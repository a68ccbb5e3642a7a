// GET /v1/stream over real sockets with a Beast WebSocket client: catch-up then caught_up then
// live, concurrent writers without gap or duplicate, resume, isolation between users, 401 before
// the upgrade, slow and silent readers with a bounded queue, two servers on one database, and
// 1001 going away on stop.
#include "api/api_server.hpp"
#include "api/stream_hub.hpp"
#include "tests/api/routes_fixture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

namespace tasklog::testing {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::string text_at(const rapidjson::Value& doc, const char* pointer) {
  const auto* v = rapidjson::Pointer(pointer).Get(doc);
  return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}
std::int64_t number_at(const rapidjson::Value& doc, const char* pointer) {
  const auto* v = rapidjson::Pointer(pointer).Get(doc);
  return v && v->IsInt64() ? v->GetInt64() : -1;
}

// What a subscriber saw of one subscription.
struct Timeline {
  std::vector<std::int64_t> positions;
  std::vector<std::string> events;  // the event objects, as JSON text
  std::optional<std::int64_t> caught_up;
  std::size_t largest_frame = 0;  // most events seen in one message (batch frames)
  std::size_t frames = 0;         // messages that carried events
};

std::string to_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  v.Accept(w);
  return std::string(out.GetString(), out.GetSize());
}

// A subscription id as a map key: a string as it is, an integer as its digits.
std::string subscription_of(const rapidjson::Value& message) {
  const auto* v = rapidjson::Pointer("/subscription").Get(message);
  if (!v) return {};
  return v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : to_text(*v);
}

class StreamTest : public RoutesTest {
 protected:
  void configure(api::ApiServerOptions& options) override {
    options.stream.heartbeat_interval = 200ms;
    adjust(options.stream);
  }
  virtual void adjust(api::StreamOptions&) {}

  std::string stream_target(const std::string& project, std::int64_t after = 0, const std::string& extra = {}) {
    return "/v1/stream?project=" + project + "&after=" + std::to_string(after) + extra;
  }

  // Connects as `user` with an initial subscription to `project` after `after`.
  std::unique_ptr<WsClient> subscribe(const TestUser& user, const std::string& project, std::int64_t after = 0,
                                      tcp::endpoint server = {}) {
    auto client = std::make_unique<WsClient>(server.port() ? server : endpoint());
    EXPECT_EQ(client->connect(stream_target(project, after), user.token), 101u);
    return client;
  }

  // Reads messages into per-subscription timelines until `done` holds. Other message types
  // (heartbeats) are skipped; an error message fails the test.
  template <class Done>
  void read_until(WsClient& client, std::map<std::string, Timeline>& timelines, Done&& done) {
    while (!done()) {
      const auto m = client.next();
      const auto type = text_at(m, "/type");
      if (type == "event") {
        auto& t = timelines[subscription_of(m)];
        t.positions.push_back(number_at(m, "/event/position"));
        t.events.push_back(to_text(*rapidjson::Pointer("/event").Get(m)));
        t.largest_frame = std::max<std::size_t>(t.largest_frame, 1);
        ++t.frames;
      } else if (type == "events") {
        auto& t = timelines[subscription_of(m)];
        const auto* batch = rapidjson::Pointer("/events").Get(m);
        if (!batch || !batch->IsArray() || batch->Empty()) {
          ADD_FAILURE() << "a batch frame without events: " << to_text(m);
          return;
        }
        for (const auto& e : batch->GetArray()) {
          t.positions.push_back(number_at(e, "/position"));
          t.events.push_back(to_text(e));
        }
        t.largest_frame = std::max<std::size_t>(t.largest_frame, batch->Size());
        ++t.frames;
      } else if (type == "caught_up") {
        timelines[subscription_of(m)].caught_up = number_at(m, "/position");
      } else if (type == "error") {
        ADD_FAILURE() << "unexpected error message: " << to_text(m);
        return;
      }
    }
  }

  // The caller's view of a project's (or task's) timeline through GET .../events, all pages.
  std::vector<std::string> rest_events(HttpClient& client, const std::string& path) {
    std::vector<std::string> out;
    std::int64_t after = 0;
    for (;;) {
      const auto r = client.get(path + "?limit=500&after=" + std::to_string(after));
      EXPECT_EQ(r.status, 200u) << r.body;
      const auto doc = r.json();
      for (const auto& e : doc["data"].GetArray()) {
        out.push_back(to_text(e));
        after = e["position"].GetInt64();
      }
      if (doc["next_cursor"].IsNull()) return out;
    }
  }

  static std::vector<std::int64_t> positions_of(const std::vector<std::string>& events) {
    std::vector<std::int64_t> out;
    for (const auto& e : events) {
      rapidjson::Document d;
      d.Parse(e.c_str());
      out.push_back(d["position"].GetInt64());
    }
    return out;
  }

  // Same JSON values (member order and spacing aside).
  static void expect_same_events(const std::vector<std::string>& got, const std::vector<std::string>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      rapidjson::Document a, b;
      a.Parse(got[i].c_str());
      b.Parse(want[i].c_str());
      ASSERT_TRUE(a == b) << "stream: " << got[i] << "\nrest:   " << want[i];
    }
  }

  void post_message(HttpClient& client, const std::string& task, const std::string& content = "hello") {
    const auto r = client.post("/v1/tasks/" + task + "/messages", R"({"role":"user","content":")" + content + R"("})");
    ASSERT_EQ(r.status, 201u) << r.body;
  }

  // A figure from /metrics (-1 when absent).
  double metric(const std::string& name, tcp::endpoint server = {}) {
    HttpClient client(server.port() ? server : endpoint());
    const auto body = client.get("/metrics").body;
    const auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + name.size() + 2));
  }
};

TEST_F(StreamTest, CatchUpThenCaughtUpThenLiveEventsInOrder) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  for (int i = 0; i < 5; ++i) post_message(*alice, task);
  const auto before = rest_events(*alice, "/v1/projects/" + project + "/events");
  ASSERT_EQ(before.size(), 7u);  // ProjectCreated, TaskCreated, 5 messages

  auto client = subscribe(alice_user, project);
  std::map<std::string, Timeline> seen;
  read_until(*client, seen, [&] { return seen["default"].caught_up.has_value(); });
  EXPECT_EQ(seen["default"].positions, positions_of(before));
  EXPECT_EQ(*seen["default"].caught_up, positions_of(before).back());
  expect_same_events(seen["default"].events, before);

  for (int i = 0; i < 3; ++i) post_message(*alice, task, "live " + std::to_string(i));
  read_until(*client, seen, [&] { return seen["default"].events.size() == 10; });
  const auto all = rest_events(*alice, "/v1/projects/" + project + "/events");
  EXPECT_EQ(seen["default"].positions, positions_of(all));
  expect_same_events(seen["default"].events, all);  // live events (from the ring) as GET /v1/events shows them

  // A heartbeat carries the head.
  std::int64_t heartbeat = -1;
  while (heartbeat < 0) {
    const auto m = client->next();
    if (text_at(m, "/type") == "heartbeat") heartbeat = number_at(m, "/position");
  }
  EXPECT_GE(heartbeat, positions_of(all).back());
}

TEST_F(StreamTest, EightWritersTwoThousandEventsArriveExactlyInOrder) {
  const auto watched = create_project(*alice, R"({"name":"watched"})");
  const auto other = create_project(*alice, R"({"name":"other"})");
  const auto watched_task = create_task(*alice, watched);
  const auto other_task = create_task(*alice, other);
  const auto bobs = create_project(*bob, R"({"name":"bobs"})");
  const auto bobs_task = create_task(*bob, bobs);

  auto client = subscribe(alice_user, watched);
  // A second subscription on the same connection, to one task only.
  client->send(R"({"type":"subscribe","id":7,"task":")" + watched_task + R"(","after":0})");
  auto bob_client = subscribe(bob_user, bobs);

  std::map<std::string, Timeline> seen, bob_seen;
  read_until(*client, seen, [&] { return seen["default"].caught_up && seen["7"].caught_up; });
  read_until(*bob_client, bob_seen, [&] { return bob_seen["default"].caught_up.has_value(); });

  constexpr int kWriters = 8, kPerWriter = 250;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      HttpClient http(endpoint(), alice_user.token);
      const auto& task = w % 2 == 0 ? watched_task : other_task;
      for (int i = 0; i < kPerWriter; ++i) {
        const auto r = http.post("/v1/tasks/" + task + "/messages",
                                 R"({"role":"user","content":"w)" + std::to_string(w) + "-" + std::to_string(i) + R"("})");
        if (r.status != 201) ++failures;
      }
    });
  }
  // The client reads while the writers write: 4 writers x 250 messages into the watched project.
  const std::size_t expected = 2 + 4 * kPerWriter;  // ProjectCreated, TaskCreated, the messages
  read_until(*client, seen, [&] { return seen["default"].events.size() >= expected && seen["7"].events.size() >= expected - 1; });
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);

  const auto project_view = rest_events(*alice, "/v1/projects/" + watched + "/events");
  const auto task_view = rest_events(*alice, "/v1/tasks/" + watched_task + "/events");
  ASSERT_EQ(project_view.size(), expected);
  EXPECT_EQ(seen["default"].positions, positions_of(project_view));
  expect_same_events(seen["default"].events, project_view);
  EXPECT_EQ(seen["7"].positions, positions_of(task_view));

  // Bob's subscription saw none of it: his next event is his own, after every one of alice's.
  post_message(*bob, bobs_task, "bob's own");
  read_until(*bob_client, bob_seen, [&] { return bob_seen["default"].events.size() == 3; });
  const auto bob_view = rest_events(*bob, "/v1/projects/" + bobs + "/events");
  EXPECT_EQ(bob_seen["default"].positions, positions_of(bob_view));
  EXPECT_GT(bob_seen["default"].positions.back(), seen["default"].positions.back());
}

TEST_F(StreamTest, ResumeAfterADroppedConnectionHasNoGapAndNoDuplicate) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  std::thread writer([&] {
    HttpClient http(endpoint(), alice_user.token);
    for (int i = 0; i < 300; ++i)
      http.post("/v1/tasks/" + task + "/messages", R"({"role":"user","content":"m)" + std::to_string(i) + R"("})");
  });

  std::vector<std::int64_t> received;
  {
    auto client = subscribe(alice_user, project);
    std::map<std::string, Timeline> seen;
    read_until(*client, seen, [&] { return seen["default"].events.size() >= 60; });
    received = seen["default"].positions;
    client->drop();  // mid-stream, without a close handshake
  }
  auto client = subscribe(alice_user, project, received.back());
  std::map<std::string, Timeline> seen;
  read_until(*client, seen, [&] { return received.size() + seen["default"].events.size() >= 302; });
  writer.join();
  received.insert(received.end(), seen["default"].positions.begin(), seen["default"].positions.end());
  EXPECT_EQ(received, positions_of(rest_events(*alice, "/v1/projects/" + project + "/events")));
}

TEST_F(StreamTest, UpgradeWithoutAValidTokenIs401) {
  const auto project = create_project(*alice);
  EXPECT_EQ(WsClient(endpoint()).connect(stream_target(project)), 401u);
  EXPECT_EQ(WsClient(endpoint()).connect(stream_target(project), "tl_not-a-real-token"), 401u);
  EXPECT_EQ(WsClient(endpoint()).connect(stream_target(project, 0, "&access_token=tl_nope")), 401u);
  // Browsers cannot set headers: the token may come as a query parameter.
  WsClient browser(endpoint());
  ASSERT_EQ(browser.connect(stream_target(project, 0, "&access_token=" + alice_user.token)), 101u);
  std::map<std::string, Timeline> seen;
  read_until(browser, seen, [&] { return seen["default"].caught_up.has_value(); });
  EXPECT_EQ(seen["default"].events.size(), 1u);
  // A plain GET is told to upgrade.
  EXPECT_EQ(alice->get("/v1/stream").status, 426u);
}

// The dashboard's way: the token in a subprotocol, out of the URL that proxies log. The answer
// names `tasklog` (a browser that offered subprotocols fails without one) and never the token.
TEST_F(StreamTest, ATokenMayComeAsASubprotocol) {
  const auto project = create_project(*alice);
  WsClient browser(endpoint());
  browser.offer_subprotocols("tasklog, tasklog.token." + alice_user.token);
  ASSERT_EQ(browser.connect(stream_target(project)), 101u);
  EXPECT_EQ(browser.accepted_subprotocol(), "tasklog");
  std::map<std::string, Timeline> seen;
  read_until(browser, seen, [&] { return seen["default"].caught_up.has_value(); });
  EXPECT_EQ(seen["default"].events.size(), 1u);

  WsClient refused(endpoint());
  refused.offer_subprotocols("tasklog, tasklog.token.tl_not-a-real-token");
  EXPECT_EQ(refused.connect(stream_target(project)), 401u);
  WsClient without(endpoint());
  without.offer_subprotocols("tasklog");
  EXPECT_EQ(without.connect(stream_target(project)), 401u);
  // A client that offers nothing gets no subprotocol back.
  WsClient plain(endpoint());
  ASSERT_EQ(plain.connect(stream_target(project), alice_user.token), 101u);
  EXPECT_EQ(plain.accepted_subprotocol(), "");
}

// A stream outlives requests by hours: a token revoked after the upgrade ends its streams (within a
// heartbeat interval, here 200 ms), while a stream of the same user on another token goes on.
TEST_F(StreamTest, ARevokedTokenEndsItsStreamAtTheNextHeartbeat) {
  const auto project = create_project(*alice);
  api::NewToken second;
  {
    pqxx::connection c(conninfo());
    second = api::create_token(c, alice_user.id, "dashboard");
  }
  auto revoked = std::make_unique<WsClient>(endpoint());
  ASSERT_EQ(revoked->connect(stream_target(project), second.secret), 101u);
  auto kept = subscribe(alice_user, project);
  std::map<std::string, Timeline> seen, kept_seen;
  read_until(*revoked, seen, [&] { return seen["default"].caught_up.has_value(); });
  read_until(*kept, kept_seen, [&] { return kept_seen["default"].caught_up.has_value(); });
  {
    pqxx::connection c(conninfo());
    api::revoke_token(c, alice_user.id, second.record.id);
  }
  // Heartbeats may still arrive before the close (a bounded number of them); nothing else does.
  for (int heartbeats = 0; heartbeats < 50; ++heartbeats) {
    const auto text = revoked->next_text();
    if (!text) break;
    EXPECT_NE(text->find(R"("type":"heartbeat")"), std::string::npos) << *text;
  }
  ASSERT_TRUE(revoked->closed()) << "the stream outlived its token by 50 heartbeats";
  EXPECT_EQ(revoked->close_code(), static_cast<unsigned>(websocket::close_code::policy_error));
  EXPECT_EQ(revoked->close_reason(), "the token was revoked or has expired");
  EXPECT_GE(metric("tasklog_stream_token_closes_total"), 1);

  create_task(*alice, project);
  read_until(*kept, kept_seen, [&] { return kept_seen["default"].events.size() == 2; });
  EXPECT_EQ(metric("tasklog_stream_token_closes_total"), 1);
  EXPECT_FALSE(kept->closed());
}

// A subscription reads history: a token revoked since the upgrade opens none, whenever the next
// heartbeat would have noticed (here: not within the test).
class RevokedTokenStreamTest : public StreamTest {
 protected:
  void adjust(api::StreamOptions& stream) override { stream.heartbeat_interval = std::chrono::hours(1); }
};

TEST_F(RevokedTokenStreamTest, ARevokedTokenOpensNoNewSubscription) {
  const auto first = create_project(*alice);
  const auto second = create_project(*alice);
  create_task(*alice, second);
  api::NewToken token;
  {
    pqxx::connection c(conninfo());
    token = api::create_token(c, alice_user.id, "dashboard");
  }
  WsClient client(endpoint());
  ASSERT_EQ(client.connect(stream_target(first), token.secret), 101u);
  std::map<std::string, Timeline> seen;
  read_until(client, seen, [&] { return seen["default"].caught_up.has_value(); });
  // Still valid: a second subscription is served.
  client.send(R"({"type":"subscribe","id":"still","project":")" + second + R"(","after":0})");
  read_until(client, seen, [&] { return seen["still"].caught_up.has_value(); });
  EXPECT_EQ(seen["still"].events.size(), 2u);
  {
    pqxx::connection c(conninfo());
    api::revoke_token(c, alice_user.id, token.record.id);
  }
  client.send(R"({"type":"subscribe","id":"x","project":")" + second + R"(","after":0})");
  while (const auto text = client.next_text()) EXPECT_EQ(text->find(R"("type":"event)"), std::string::npos) << *text;
  ASSERT_TRUE(client.closed());
  EXPECT_EQ(client.close_code(), static_cast<unsigned>(websocket::close_code::policy_error));
  EXPECT_EQ(client.close_reason(), "the token was revoked or has expired");
}

TEST_F(StreamTest, SubscribingToAnInvisibleProjectOrTaskIsNotFound) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  const auto bobs = create_project(*bob);

  // The query's subscription: upgraded, then an error for the subscription "default".
  auto client = subscribe(bob_user, project);
  auto m = client->next();
  EXPECT_EQ(text_at(m, "/type"), "error") << to_text(m);
  EXPECT_EQ(text_at(m, "/id"), "default");
  EXPECT_EQ(text_at(m, "/error/code"), "not_found");

  client->send(R"({"type":"subscribe","id":"a","task":")" + task + R"("})");
  m = client->next();
  EXPECT_EQ(text_at(m, "/id"), "a");
  EXPECT_EQ(text_at(m, "/error/code"), "not_found");
  // Exactly like an id that does not exist.
  client->send(R"({"type":"subscribe","id":"b","project":"00000000-0000-4000-8000-000000000000"})");
  m = client->next();
  EXPECT_EQ(text_at(m, "/id"), "b");
  EXPECT_EQ(text_at(m, "/error/code"), "not_found");
  // Malformed requests are validation errors; the connection stays usable.
  client->send(R"({"type":"subscribe","id":"c","project":"nope"})");
  EXPECT_EQ(text_at(client->next(), "/error/code"), "validation_failed");
  client->send("not json");
  EXPECT_EQ(text_at(client->next(), "/error/code"), "malformed_json");
  client->send(R"({"type":"unsubscribe","id":"zz"})");
  EXPECT_EQ(text_at(client->next(), "/error/code"), "not_found");

  client->send(R"({"type":"subscribe","id":"mine","project":")" + bobs + R"("})");
  std::map<std::string, Timeline> seen;
  read_until(*client, seen, [&] { return seen["mine"].caught_up.has_value(); });
  EXPECT_EQ(seen["mine"].events.size(), 1u);
  // Unsubscribed: acknowledged, and nothing more for it.
  client->send(R"({"type":"unsubscribe","id":"mine"})");
  for (;;) {
    m = client->next();
    if (text_at(m, "/type") == "heartbeat") continue;
    EXPECT_EQ(text_at(m, "/type"), "unsubscribed") << to_text(m);
    EXPECT_EQ(text_at(m, "/id"), "mine");
    break;
  }
}

// Client messages are parsed like request bodies: nesting is bounded (RapidJSON's own Parse
// recursed once per level), a NUL inside a string is refused (it cut a type or an id short where
// they were read as C strings, and the subscription was accepted), and the connection goes on.
TEST_F(StreamTest, MalformedMessagesAreRefusedAndTheConnectionGoesOn) {
  const auto project = create_project(*alice);
  WsClient client(endpoint());
  ASSERT_EQ(client.connect("/v1/stream", alice_user.token), 101u);
  client.send(std::string(60000, '['));
  auto m = client.next();
  EXPECT_EQ(text_at(m, "/type"), "error") << to_text(m);
  EXPECT_EQ(text_at(m, "/error/code"), "validation_failed") << to_text(m);
  client.send(R"({"type":"subscribe\u0000x","id":"t","project":")" + project + R"("})");
  m = client.next();
  EXPECT_EQ(text_at(m, "/error/code"), "validation_failed") << to_text(m);
  client.send(R"({"type":"subscribe","id":"p","project":")" + project + R"(\u0000zz"})");
  m = client.next();
  EXPECT_EQ(text_at(m, "/error/code"), "validation_failed") << to_text(m);
  // Messages are closed and name each key once, as request bodies: a misspelt "aftr" replayed
  // the whole history, and of two "project"s the server read the first, a browser the last.
  client.send(R"({"type":"subscribe","id":"typo","project":")" + project + R"(","aftr":5})");
  m = client.next();
  EXPECT_EQ(text_at(m, "/error/code"), "validation_failed") << to_text(m);
  EXPECT_EQ(text_at(m, "/error/details/field"), "aftr") << to_text(m);
  client.send(R"({"type":"subscribe","id":"twice","project":")" + project + R"(","project":")" + project + R"("})");
  m = client.next();
  EXPECT_EQ(text_at(m, "/error/code"), "validation_failed") << to_text(m);
  EXPECT_EQ(text_at(m, "/error/details/field"), "project") << to_text(m);
  client.send(R"({"type":"unsubscribe","id":"x","project":")" + project + R"("})");
  m = client.next();
  EXPECT_EQ(text_at(m, "/error/details/field"), "project") << to_text(m);
  // Still serving: a well-formed subscription catches up.
  client.send(R"({"type":"subscribe","id":"ok","project":")" + project + R"("})");
  std::map<std::string, Timeline> seen;
  read_until(client, seen, [&] { return seen["ok"].caught_up.has_value(); });
  EXPECT_EQ(seen["ok"].events.size(), 1u);
  EXPECT_EQ(seen.count("t") + seen.count("p") + seen.count("typo") + seen.count("twice"), 0u);
}

// `after` beyond the log's last event is no position of this log: refused, rather than caught up to
// it (the events up to it would never come). After the head itself is a resume point like any.
TEST_F(StreamTest, AfterBeyondTheLogsHeadIsRefused) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  const auto last = head();
  WsClient client(endpoint());
  ASSERT_EQ(client.connect(stream_target(project, last + 100), alice_user.token), 101u);
  auto m = client.next();
  EXPECT_EQ(text_at(m, "/type"), "error") << to_text(m);
  EXPECT_EQ(text_at(m, "/id"), "default");
  EXPECT_EQ(text_at(m, "/error/code"), "validation_failed") << to_text(m);
  EXPECT_EQ(number_at(m, "/error/details/head"), last) << to_text(m);

  client.send(R"({"type":"subscribe","id":"at-head","project":")" + project + R"(","after":)" + std::to_string(last) + "}");
  std::map<std::string, Timeline> seen;
  read_until(client, seen, [&] { return seen["at-head"].caught_up.has_value(); });
  post_message(*alice, task, "after the head");
  read_until(client, seen, [&] { return seen["at-head"].events.size() == 1; });
  EXPECT_GT(seen["at-head"].positions.front(), last);
}

class MembershipStreamTest : public StreamTest, public ::testing::WithParamInterface<bool> {};

TEST_P(MembershipStreamTest, RemovedMemberStopsReceivingTheProject) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  auto r = alice->post("/v1/projects/" + project + "/members",
                       R"({"user_id":")" + to_string(bob_user.id) + R"(","role":"viewer"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto client = std::make_unique<WsClient>(endpoint());
  ASSERT_EQ(client->connect(stream_target(project, 0, GetParam() ? "&batch=true" : ""), bob_user.token), 101u);
  std::map<std::string, Timeline> seen;
  read_until(*client, seen, [&] { return seen["default"].caught_up.has_value(); });
  post_message(*alice, task, "visible");
  read_until(*client, seen, [&] { return seen["default"].events.size() == 4; });

  r = alice->del("/v1/projects/" + project + "/members?user_id=" + to_string(bob_user.id));
  ASSERT_EQ(r.status, 200u) << r.body;
  post_message(*alice, task, "not for bob");
  for (;;) {
    const auto m = client->next();
    const auto type = text_at(m, "/type");
    if (type == "heartbeat") continue;
    ASSERT_EQ(type, "error") << "bob received after his removal: " << to_text(m);
    EXPECT_EQ(text_at(m, "/error/code"), "not_found");
    break;
  }
}

INSTANTIATE_TEST_SUITE_P(FrameKinds, MembershipStreamTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Batch" : "FramePerEvent"; });

TEST_F(StreamTest, FanOutReadsTheTableOnlyToCatchUp) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  std::vector<std::unique_ptr<WsClient>> clients;
  std::vector<std::map<std::string, Timeline>> seen(4);
  for (int i = 0; i < 4; ++i) {
    clients.push_back(subscribe(alice_user, project));
    read_until(*clients.back(), seen[i], [&] { return seen[i]["default"].caught_up.has_value(); });
  }
  const double reads_before = metric("tasklog_stream_catchup_reads_total");
  const double feed_before = metric("tasklog_stream_feed_reads_total");
  for (int i = 0; i < 50; ++i) post_message(*alice, task);
  for (int i = 0; i < 4; ++i) read_until(*clients[i], seen[i], [&] { return seen[i]["default"].events.size() == 52; });
  // Live events came from the ring: no table read per subscriber; the LISTEN thread read at most
  // once per append (fewer when notifications coalesce).
  EXPECT_EQ(metric("tasklog_stream_catchup_reads_total"), reads_before);
  EXPECT_LE(metric("tasklog_stream_feed_reads_total") - feed_before, 50);
  EXPECT_EQ(metric("tasklog_stream_sessions"), 4);
}

TEST_F(StreamTest, TwoServersOnOneDatabaseShareLiveEvents) {
  api::ApiServerOptions options;
  options.conninfo = conninfo();
  options.listen = {net::ip::make_address("127.0.0.1"), 0};
  options.io_threads = 2;
  options.worker_threads = 4;
  options.run_reaper = false;
  api::ApiServer second(std::move(options));
  second.start();

  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  auto client = subscribe(alice_user, project, 0, second.endpoint());  // on server B
  std::map<std::string, Timeline> seen;
  read_until(*client, seen, [&] { return seen["default"].caught_up.has_value(); });
  for (int i = 0; i < 20; ++i) post_message(*alice, task);  // through server A
  read_until(*client, seen, [&] { return seen["default"].events.size() == 22; });
  EXPECT_EQ(seen["default"].positions, positions_of(rest_events(*alice, "/v1/projects/" + project + "/events")));
  client.reset();
  second.stop();
}

TEST_F(StreamTest, StopClosesSessionsWithGoingAway) {
  const auto project = create_project(*alice);
  auto client = subscribe(alice_user, project);
  std::map<std::string, Timeline> seen;
  read_until(*client, seen, [&] { return seen["default"].caught_up.has_value(); });
  std::thread stopper([&] { server_->stop(); });
  while (client->next_text()) {
  }
  stopper.join();
  EXPECT_EQ(client->close_code(), static_cast<unsigned>(websocket::close_code::going_away));
}

// A wake interval long enough that concurrent writers always commit several events per read, and
// no poll (the LISTEN thread reads on notifications, and after the interval when it delayed one).
class PacedStreamTest : public StreamTest {
 protected:
  static constexpr auto kWakeInterval = 100ms;
  void adjust(api::StreamOptions& stream) override {
    stream.wake_interval = kWakeInterval;
    stream.poll_interval = 1h;
    stream.batch_bytes = 1 << 20;  // whatever one read returns fits one frame
  }
};

// Eight writers at once. Every subscriber gets every event once, in order, equal to the REST view
// — also the last events of the burst, with no later append and no poll to bring them. The log is
// read at most once per wake interval (an upper bound from the time the test took: a slow machine
// only loosens it), a batch subscriber gets at most one live frame per read, sessions at one
// cursor share the frame's body, and a client without ?batch=true still gets one frame per event.
TEST_F(PacedStreamTest, ConcurrentWritersReachEverySubscriberOnceInOrderWithBoundedReadsAndFrames) {
  const auto project = create_project(*alice);
  std::vector<std::string> tasks;
  for (int t = 0; t < 4; ++t) tasks.push_back(create_task(*alice, project));
  constexpr int kBatchClients = 3;
  std::vector<std::unique_ptr<WsClient>> clients;
  std::vector<std::map<std::string, Timeline>> seen(kBatchClients + 1);
  for (int c = 0; c <= kBatchClients; ++c) {
    clients.push_back(std::make_unique<WsClient>(endpoint()));
    ASSERT_EQ(clients.back()->connect(stream_target(project, 0, c < kBatchClients ? "&batch=true" : ""),
                                      alice_user.token), 101u);
    read_until(*clients.back(), seen[c], [&] { return seen[c]["default"].caught_up.has_value(); });
    ASSERT_EQ(seen[c]["default"].events.size(), 5u);  // ProjectCreated, 4 TaskCreated
  }
  const auto started = std::chrono::steady_clock::now();
  const double reads_before = metric("tasklog_stream_feed_reads_total");
  const double bodies_before = metric("tasklog_stream_frame_bodies_total");
  std::vector<std::size_t> frames_before;
  for (auto& s : seen) frames_before.push_back(s["default"].frames);

  constexpr int kWriters = 8, kPerWriter = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      HttpClient http(endpoint(), alice_user.token);
      for (int i = 0; i < kPerWriter; ++i)
        if (http.post("/v1/tasks/" + tasks[w % tasks.size()] + "/messages",
                      R"({"role":"user","content":"w)" + std::to_string(w) + "-" + std::to_string(i) + R"("})")
                .status != 201)
          ++failures;
    });
  }
  const std::size_t expected = 5 + kWriters * kPerWriter;
  for (int c = 0; c <= kBatchClients; ++c)
    read_until(*clients[c], seen[c], [&] { return seen[c]["default"].events.size() >= expected; });
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);
  const double reads = metric("tasklog_stream_feed_reads_total") - reads_before;
  const double bodies = metric("tasklog_stream_frame_bodies_total") - bodies_before;
  const auto elapsed = std::chrono::steady_clock::now() - started;

  const auto view = rest_events(*alice, "/v1/projects/" + project + "/events");
  ASSERT_EQ(view.size(), expected);
  std::size_t batch_frames = 0;
  for (int c = 0; c <= kBatchClients; ++c) {
    auto& t = seen[c]["default"];
    EXPECT_EQ(t.positions, positions_of(view)) << "client " << c;
    const auto live_frames = t.frames - frames_before[c];
    if (c < kBatchClients) {
      EXPECT_LE(live_frames, reads) << "client " << c << ": more live frames than reads of the log";
      batch_frames += live_frames;
    } else {
      EXPECT_EQ(t.largest_frame, 1u);
      EXPECT_EQ(live_frames, expected - 5);
    }
  }
  expect_same_events(seen[0]["default"].events, view);
  EXPECT_LE(reads, static_cast<double>(elapsed / kWakeInterval) + 1) << "the log was read more often than the interval allows";
  EXPECT_LE(bodies * 2, static_cast<double>(batch_frames)) << "sessions at one cursor should share a frame body";
  std::cout << expected - 5 << " live events in " << reads << " reads of the log over "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms; " << batch_frames
            << " batch frames to " << kBatchClients << " subscribers from " << bodies << " joined bodies\n";
}

// A session as the hub sees it, whose wake-ups the test runs (StreamHub::wake_done) when it wants.
class HeldWakeListener : public api::StreamListener {
 public:
  bool on_log_advanced() override {
    ++wakes;
    return true;
  }
  void go_away() override {}
  std::atomic<int> wakes{0};
};

// Under load the hub reads less often rather than piling reads onto sessions that have not taken
// the last one: while a session's wake-up has not run, the next read waits (for at most a second,
// kRoundWait in api/stream_hub.cpp); once it has run, the next read brings everything committed
// meanwhile. The bound on reads comes from the time the test took, so a slow machine only loosens it.
TEST_F(StreamTest, ASessionThatHasNotTakenTheLastReadHoldsTheNextReadBack) {
  api::StreamOptions options;
  options.wake_interval = 0ms;  // only the wait for the round
  api::StreamHub hub(conninfo(), options);
  hub.start();
  auto listener = std::make_shared<HeldWakeListener>();
  bool going_away = false;
  const auto id = hub.add_listener(listener, going_away);
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  ASSERT_TRUE(eventually([&] { return listener->wakes.load() >= 1; }));

  const auto started = std::chrono::steady_clock::now();
  const auto reads_before = hub.counters().feed_reads.load();
  for (int i = 0; i < 40; ++i) post_message(*alice, task);
  const auto reads = hub.counters().feed_reads.load() - reads_before;
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LE(reads, static_cast<std::uint64_t>(elapsed / 1s) + 1) << "40 commits while a wake-up was held";

  // The wake-ups run: the next read comes, with every event committed meanwhile.
  const auto last = positions_of(rest_events(*alice, "/v1/projects/" + project + "/events")).back();
  for (int released = 0; hub.head() < last;) {
    for (const int wakes = listener->wakes.load(); released < wakes; ++released) hub.wake_done();
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(hub.head(), last);
  hub.remove_listener(id);
  hub.stop();
}

// The LISTEN thread reads once, then not for an hour: the ring lags the log for the whole test.
class LaggingRingStreamTest : public StreamTest {
 protected:
  void adjust(api::StreamOptions& stream) override { stream.wake_interval = std::chrono::hours(1); }
};

// Every event that committed before a subscription comes before its caught_up, even when the
// ring has not read them yet (the wake interval delays reads): a new subscription's catch-up reads
// the table although its cursor is inside the ring.
TEST_F(LaggingRingStreamTest, EventsCommittedBeforeASubscriptionComeBeforeItsCaughtUp) {
  const auto project = create_project(*alice);
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_feed_reads_total") >= 1; }));
  const auto task = create_task(*alice, project);
  for (int i = 0; i < 3; ++i) post_message(*alice, task);  // after the one read: not in the ring
  const auto view = rest_events(*alice, "/v1/projects/" + project + "/events");
  ASSERT_EQ(view.size(), 5u);
  ASSERT_LT(metric("tasklog_stream_head_position"), positions_of(view).back());

  for (const std::string batch : {"", "&batch=true"}) {
    WsClient client(endpoint());
    ASSERT_EQ(client.connect(stream_target(project, 0, batch), alice_user.token), 101u);
    std::map<std::string, Timeline> seen;
    read_until(client, seen, [&] { return seen["default"].caught_up.has_value(); });
    EXPECT_EQ(seen["default"].positions, positions_of(view)) << batch;
    EXPECT_GE(*seen["default"].caught_up, positions_of(view).back()) << batch;
  }
}

// A reader that falls far behind: small ring, small queue, small socket buffers.
class SlowStreamTest : public StreamTest {
 protected:
  void adjust(api::StreamOptions& stream) override {
    stream.ring_size = 16;
    stream.queue_messages = 8;
    stream.catchup_batch = 5;
    stream.send_buffer_bytes = 4096;
  }
};

TEST_F(SlowStreamTest, AReaderThatFallsBehindCatchesUpFromTheTableWithBoundedMemory) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  WsClient client(endpoint(), 4096);
  ASSERT_EQ(client.connect(stream_target(project), alice_user.token), 101u);
  std::map<std::string, Timeline> seen;
  read_until(client, seen, [&] { return seen["default"].caught_up.has_value(); });

  // The client reads nothing while 300 events are appended: far more than the socket buffers,
  // the queue and the ring together hold.
  for (int i = 0; i < 300; ++i) post_message(*alice, task, std::string(400, 'x'));
  const auto view = rest_events(*alice, "/v1/projects/" + project + "/events");
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_head_position") >= positions_of(view).back(); }));

  read_until(client, seen, [&] { return seen["default"].events.size() == view.size(); });
  EXPECT_EQ(seen["default"].positions, positions_of(view));
  EXPECT_GE(metric("tasklog_stream_ring_misses_total"), 1);  // it went back to the table
  // Live events were never queued (the ring is their queue): while the client read nothing, the
  // session held one frame. Whether the table pages then filled the queue depends on who was
  // faster, the client or the table reads; the next test makes them fill it.
  EXPECT_LE(metric("tasklog_stream_queue_high_water"), 8);  // never more than the bound
}

// Catch-up from the table to a client that reads nothing: the pages fill the queue to its bound
// and the subscription waits; when the client reads, it goes on from its cursor.
TEST_F(SlowStreamTest, TableCatchUpWaitsOnAFullQueueAndGoesOnWhenTheClientReads) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  for (int i = 0; i < 300; ++i) post_message(*alice, task, std::string(400, 'z'));
  const auto view = rest_events(*alice, "/v1/projects/" + project + "/events");
  WsClient client(endpoint(), 4096);
  ASSERT_EQ(client.connect(stream_target(project, 0, "&batch=true"), alice_user.token), 101u);
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_queue_full_total") >= 1; }));
  // Filled to its bound but the one place kept for the reply to the client message being read.
  EXPECT_EQ(metric("tasklog_stream_queue_high_water"), 7);

  std::map<std::string, Timeline> seen;
  read_until(client, seen, [&] { return seen["default"].caught_up.has_value(); });
  EXPECT_EQ(seen["default"].positions, positions_of(view));
  expect_same_events(seen["default"].events, view);
  EXPECT_LE(metric("tasklog_stream_queue_high_water"), 8);
}

// A session's queue is bounded in bytes too: by its message count alone, 1,024 artifacts of
// 256 KiB held for one slow client were 256 MiB (a read-only review held ~560 MB that way with one
// client reading 20 KB/s), and a table page of 500 of them crossed from PostgreSQL at once.
class SlowStreamBytesTest : public StreamTest {
 protected:
  void adjust(api::StreamOptions& stream) override {
    stream.ring_size = 16;
    stream.queue_bytes = 64 * 1024;
    stream.send_buffer_bytes = 4096;  // queue_messages and catchup_batch as by default: 1,024 and 500
  }
};

TEST_F(SlowStreamBytesTest, TableCatchUpFillsTheQueueToItsBytesAndGoesOnWhenTheClientReads) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  const std::string content(16 * 1024, 'b');
  for (int i = 0; i < 60; ++i) post_message(*alice, task, content);
  const auto view = rest_events(*alice, "/v1/projects/" + project + "/events");
  WsClient client(endpoint(), 4096);
  ASSERT_EQ(client.connect(stream_target(project), alice_user.token), 101u);
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_queue_full_total") >= 1; }));
  // About 64 KiB of events, the one that crosses the bound included: four or five of ~16.5 KiB,
  // not the 500 a page of messages' count allows.
  EXPECT_LE(metric("tasklog_stream_queue_bytes_high_water"), 64 * 1024 + 17 * 1024);
  EXPECT_LE(metric("tasklog_stream_queue_high_water"), 6);

  std::map<std::string, Timeline> seen;
  read_until(client, seen, [&] { return seen["default"].caught_up.has_value(); });
  EXPECT_EQ(seen["default"].positions, positions_of(view));
  expect_same_events(seen["default"].events, view);
  EXPECT_LE(metric("tasklog_stream_queue_bytes_high_water"), 64 * 1024 + 17 * 1024);
}

// The places a table read in flight was promised count against the client's messages too: with a
// write stuck on a client that reads nothing, a page being read and the client's messages being
// answered, the session still holds at most queue_messages. (Replies used to be gated by the queue
// alone, so a page landing on eight replies made thirteen.)
class ReplyRoomStreamTest : public SlowStreamTest {
 protected:
  void adjust(api::StreamOptions& stream) override {
    SlowStreamTest::adjust(stream);  // a queue of 8, pages of 5, small socket buffers
    stream.ring_size = 1024;         // the live subscription stays live: its frames are not queued
    stream.stall_timeout = 600s;     // the client that reads nothing is not closed meanwhile
  }
};

TEST_F(ReplyRoomStreamTest, RepliesLeaveRoomForThePagesBeingRead) {
  const auto live = create_project(*alice);
  const auto live_task = create_task(*alice, live);
  const auto other = create_project(*alice);
  const auto other_task = create_task(*alice, other);
  for (int i = 0; i < 6; ++i) post_message(*alice, other_task, "page");
  WsClient client(endpoint(), 4096);
  ASSERT_EQ(client.connect(stream_target(live), alice_user.token), 101u);
  std::map<std::string, Timeline> seen;
  read_until(client, seen, [&] { return seen["default"].caught_up.has_value(); });

  // The client reads nothing while far more than the socket buffers hold goes live: a write sticks.
  for (int i = 0; i < 60; ++i) post_message(*alice, live_task, std::string(2000, 'w'));
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_head_position") >= head(); }));

  // The other project's catch-up read waits on a lock, holding its places (five of the eight).
  pqxx::connection locker(conninfo());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
  client.send(R"({"type":"subscribe","id":"other","project":")" + other + R"("})");
  ASSERT_TRUE(eventually([&] {
    return query_value(conninfo(), "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()") != "0";
  }));
  // Eight messages to answer while the write is stuck; room is left for three.
  for (int i = 0; i < 8; ++i) client.send(R"({"type":"unsubscribe","id":"no-such-subscription"})");
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_queued_messages") >= 3; }));
  eventually([&] { return metric("tasklog_stream_queued_messages") >= 8; }, std::chrono::seconds(2));  // 8 before the change
  lock.abort();
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_catchup_reads_total") >= 2 &&
                                      metric("tasklog_stream_queued_messages") >= 8; }));
  EXPECT_LE(metric("tasklog_stream_queue_high_water"), 8);

  // Nothing was dropped: every reply, every live event, the other project's catch-up.
  int replies = 0;
  while (replies < 8 || seen["default"].events.size() < 62 || !seen["other"].caught_up) {
    const auto m = client.next();
    const auto type = text_at(m, "/type");
    if (type == "error") {
      EXPECT_EQ(text_at(m, "/error/code"), "not_found") << to_text(m);
      ++replies;
    } else if (type == "event") {
      seen[subscription_of(m)].events.push_back(to_text(*rapidjson::Pointer("/event").Get(m)));
    } else if (type == "caught_up") {
      seen[subscription_of(m)].caught_up = number_at(m, "/position");
    }
  }
  EXPECT_EQ(seen["other"].events.size(), 8u);  // ProjectCreated, TaskCreated, six messages
}

// ?batch=true: the same timeline, in fewer frames. The client reads nothing while the events are
// appended, so they wait together in the session's queue and leave in batch frames; the test
// reads through ring misses and table catch-up with a queue of 8, and sees every event once, in
// order, equal to the REST view.
TEST_F(SlowStreamTest, BatchFramesCarryWaitingEventsInOrderWithoutGapOrDuplicate) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  WsClient client(endpoint(), 4096);
  ASSERT_EQ(client.connect(stream_target(project, 0, "&batch=true"), alice_user.token), 101u);
  std::map<std::string, Timeline> seen;
  read_until(client, seen, [&] { return seen["default"].caught_up.has_value(); });

  // Eight writers at once, while the client reads nothing.
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&] {
      HttpClient http(endpoint(), alice_user.token);
      for (int i = 0; i < 40; ++i)
        if (http.post("/v1/tasks/" + task + "/messages", R"({"role":"user","content":")" + std::string(300, 'b') + R"("})")
                .status != 201)
          ++failures;
    });
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);
  const auto view = rest_events(*alice, "/v1/projects/" + project + "/events");
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_head_position") >= positions_of(view).back(); }));

  read_until(client, seen, [&] { return seen["default"].events.size() >= view.size(); });
  EXPECT_EQ(seen["default"].positions, positions_of(view));
  expect_same_events(seen["default"].events, view);
  EXPECT_GT(seen["default"].largest_frame, 1u) << "waiting events should share frames";
  EXPECT_LE(metric("tasklog_stream_queue_high_water"), 8);  // the bound counts events, batched or not
}

TEST_F(StreamTest, BatchMustBeTrueOrFalse) {
  const auto project = create_project(*alice);
  WsClient client(endpoint());
  EXPECT_EQ(client.connect(stream_target(project, 0, "&batch=maybe"), alice_user.token), 400u);
  WsClient off(endpoint());
  ASSERT_EQ(off.connect(stream_target(project, 0, "&batch=false"), alice_user.token), 101u);
  std::map<std::string, Timeline> seen;
  read_until(off, seen, [&] { return seen["default"].caught_up.has_value(); });
  EXPECT_EQ(seen["default"].largest_frame, 1u);  // ProjectCreated, in an "event" frame
}

// A client that goes away (the connection reset) while the session's write is blocked and its
// reading is paused on a full queue: no read is pending to notice, so the failed write must end
// the session — it used to stay registered, holding its queue, until the server stopped.
class PausedStreamTest : public SlowStreamTest {
 protected:
  void adjust(api::StreamOptions& stream) override {
    SlowStreamTest::adjust(stream);  // small queue, pages and socket buffers
    stream.heartbeat_interval = 100ms;
    stream.stall_timeout = 600s;  // not the stall check: the failed write must end it
  }
};

TEST_F(PausedStreamTest, AClientResetWhileReadingIsPausedEndsItsSession) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  for (int i = 0; i < 300; ++i) post_message(*alice, task, std::string(400, 'r'));
  WsClient client(endpoint(), 4096);
  ASSERT_EQ(client.connect(stream_target(project), alice_user.token), 101u);
  // The catch-up fills the queue to its bound while the client reads nothing.
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_queue_full_total") >= 1; }));
  // Messages from the client are read and answered into the queue until it is at its bound and
  // the socket buffers are full: then no write completes, reading stays paused, and the messages
  // not read yet wait in the server's socket. (Until then a completed write resumes reading.)
  for (int i = 0; i < 50; ++i) client.send(R"({"type":"unsubscribe","id":"no-such-subscription"})");
  double last = -1;
  ASSERT_TRUE(eventually([&] {
    const double now = metric("tasklog_stream_queued_messages");
    const bool settled = now >= 8 && now == last;
    last = now;
    return settled;
  }, std::chrono::seconds(30), std::chrono::milliseconds(300)));
  EXPECT_EQ(metric("tasklog_stream_sessions"), 1);
  client.drop();  // unread data in its receive buffer: the close resets the connection
  EXPECT_TRUE(eventually([&] { return metric("tasklog_stream_sessions") == 0; }, std::chrono::seconds(10)))
      << "the session outlived its connection";
  EXPECT_EQ(metric("tasklog_stream_queued_messages"), 0);
}

// A client that reads nothing at all.
class StalledStreamTest : public StreamTest {
 protected:
  void adjust(api::StreamOptions& stream) override {
    stream.queue_messages = 8;
    stream.send_buffer_bytes = 4096;
    stream.heartbeat_interval = 100ms;
    stream.stall_timeout = 500ms;
    stream.close_timeout = 60s;  // the test reads the close frame after it sees the decision
  }
};

TEST_F(StalledStreamTest, AClientThatNeverReadsIsClosedWithAReason) {
  const auto project = create_project(*alice);
  const auto task = create_task(*alice, project);
  WsClient client(endpoint(), 4096);
  ASSERT_EQ(client.connect(stream_target(project), alice_user.token), 101u);

  // Appends until the server gives up on the client (a bounded number: it must happen).
  int appended = 0;
  while (metric("tasklog_stream_slow_closes_total") < 1 && appended < 3000) {
    for (int i = 0; i < 20; ++i, ++appended) post_message(*alice, task, std::string(400, 'y'));
  }
  ASSERT_TRUE(eventually([&] { return metric("tasklog_stream_slow_closes_total") >= 1; }));
  EXPECT_LE(metric("tasklog_stream_queue_high_water"), 8);

  // What was in flight arrives, then the close frame with its reason.
  while (client.next_text()) {
  }
  EXPECT_EQ(client.close_code(), static_cast<unsigned>(websocket::close_code::policy_error));
  EXPECT_EQ(client.close_reason(), "the client is not reading its messages");
  EXPECT_TRUE(eventually([&] { return metric("tasklog_stream_sessions") == 0; }));
}

}  // namespace
}  // namespace tasklog::testing
