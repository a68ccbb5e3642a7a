// The HTTP server core over real sockets: operator endpoints, routing errors in the one error
// shape, bearer authentication, size limits, keep-alive and pipelining, timeouts, graceful stop,
// and a database that goes away and comes back while the server keeps running.
#include "api/router.hpp"
#include "api/services.hpp"
#include "events/embedded_postgres.hpp"
#include "events/migrator.hpp"
#include "tests/api/api_fixture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <stdexcept>
#include <vector>
#include <thread>

namespace tasklog::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace http = boost::beast::http;

// Probe routes that exercise the server without depending on the /v1 endpoints.
void add_probe_routes(api::Router& router, std::shared_future<void> release_block, std::promise<void>* entered_block) {
  // Authenticated: answers who the caller is.
  router.add(http::verb::get, "/test/whoami", [](api::RequestContext& ctx) {
    return api::json_response(http::status::ok, "{\"user_id\":\"" + to_string(ctx.user().user_id) + "\"}");
  });
  // Echoes its decoded capture and query parameter.
  router.add(
      http::verb::get, "/test/echo/{value}",
      [](api::RequestContext& ctx) {
        const auto q = ctx.query.find("q");
        return api::json_response(http::status::ok, "{\"value\":\"" + ctx.params.at(0) + "\",\"q\":\"" +
                                                        (q == ctx.query.end() ? std::string() : q->second) + "\"}");
      },
      {.authenticated = false});
  // Counts the body's bytes.
  router.add(
      http::verb::post, "/test/body",
      [](api::RequestContext& ctx) {
        return api::json_response(http::status::ok, "{\"bytes\":" + std::to_string(ctx.request.body().size()) + "}");
      },
      {.authenticated = false});
  // Blocks until the test releases it: an in-flight request during stop().
  router.add(
      http::verb::get, "/test/block",
      [release_block, entered_block](api::RequestContext&) {
        entered_block->set_value();
        release_block.wait();
        return api::json_response(http::status::ok, R"({"finished":true})");
      },
      {.authenticated = false});
}

// An asynchronous route answered from a thread of the test's (as the event store's writer answers
// commands): "ok" answers, "refused" fails with a DomainError, "throws" answers with a maker that
// throws something else, "early" throws in the handler before it hands anything on.
void add_async_probe_route(api::Router& router, std::vector<std::thread>& answerers, std::mutex& mutex) {
  router.add(
      http::verb::get, "/test/later/{outcome}",
      [&answerers, &mutex](api::RequestContext& ctx, api::Reply reply) {
        const std::string outcome = ctx.params.at(0);
        if (outcome == "early") throw DomainError(ErrorCode::validation_failed, "refused before handing on");
        std::lock_guard lock(mutex);
        answerers.emplace_back([outcome, reply = std::move(reply)] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          if (outcome == "refused") return reply.fail(std::make_exception_ptr(DomainError(ErrorCode::illegal_transition, "no")));
          reply.answer([outcome]() -> api::Response {
            if (outcome == "throws") throw std::runtime_error("the maker failed");
            return api::json_response(http::status::ok, R"({"later":true})");
          });
        });
      },
      {.authenticated = false});
}

class HttpServerTest : public ApiTest {
 protected:
  void configure(api::ApiServerOptions& options) override {
    options.extra_routes = [this](api::Router& router) {
      add_probe_routes(router, release_block_.get_future().share(), &entered_block_);
      add_async_probe_route(router, answerers_, answerers_mutex_);
    };
    options.idle_timeout = idle_timeout_;
  }
  void TearDown() override {
    {
      std::lock_guard lock(answerers_mutex_);
      for (auto& answerer : answerers_) answerer.join();
    }
    ApiTest::TearDown();
  }

  std::mutex answerers_mutex_;
  std::vector<std::thread> answerers_;

  std::chrono::seconds idle_timeout_{60};
  std::promise<void> release_block_;
  std::promise<void> entered_block_;
};

TEST_F(HttpServerTest, HealthzReadyzAndMetricsNeedNoToken) {
  auto client = anonymous_client();
  const auto health = client->get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  EXPECT_EQ(health.header("content-type"), "application/json");

  const auto ready = client->get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("\"status\":\"ready\""));

  client->get("/nowhere");
  const auto metrics = client->get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE tasklog_http_requests_total counter"));
  EXPECT_THAT(metrics.body, HasSubstr("tasklog_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("tasklog_http_requests_total{route=\"/readyz\",status=\"200\"} 1\n"));
  // Unmatched paths share one label: raw paths would be unbounded label values.
  EXPECT_THAT(metrics.body, HasSubstr("tasklog_http_requests_total{route=\"(unmatched)\",status=\"404\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE tasklog_http_request_duration_seconds histogram"));
  EXPECT_THAT(metrics.body, HasSubstr("tasklog_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("tasklog_http_request_duration_seconds_count{route=\"/healthz\"} 1\n"));
  for (const char* name : {"tasklog_append_batches_total ", "tasklog_events_appended_total ",
                           "tasklog_append_largest_batch ", "tasklog_db_pool_size 13\n" /* 4 workers + 4 task-read lanes + 4 sign-in lanes + 1 stream-check lane */, "tasklog_db_pool_open ",
                           "tasklog_db_pool_in_use ", "tasklog_db_pool_waiting ", "tasklog_task_reads_total ",
                           "tasklog_task_read_calls_total ", "tasklog_append_unread_batches_total ",
                           "tasklog_append_memory_misses_total ", "tasklog_sign_ins_total ", "tasklog_sign_in_calls_total ",
                           "tasklog_shared_calls_queued "}) {
    EXPECT_THAT(metrics.body, HasSubstr(name));
  }
}

// The request path's connections never JIT-compile: PostgreSQL would compile a statement on every
// execution once its estimated cost passes jit_above_cost, which the project context's reached with
// one large project in the statistics (0.6 s a read). The server's own setting, whatever the
// database's default (on in PostgreSQL 15).
TEST_F(HttpServerTest, PooledConnectionsDoNotCompileStatements) {
  api::DbPool pool(conninfo(), 2);
  auto first = pool.acquire();
  auto second = pool.acquire();
  for (auto* lease : {&first, &second})
    EXPECT_EQ(pqxx::nontransaction(**lease).exec1("SHOW jit")[0].as<std::string>(), "off");
}

TEST_F(HttpServerTest, UnknownRoutesAre404AndWrongMethodsAre405WithAllow) {
  auto client = anonymous_client();
  const auto missing = client->get("/v0/nothing/here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.error_code(), "not_found");
  const auto doc = missing.json();
  ASSERT_TRUE(doc["error"].IsObject());
  EXPECT_TRUE(doc["error"]["message"].IsString());
  EXPECT_TRUE(doc["error"]["details"].IsObject());

  EXPECT_EQ(client->get("/healthz/").status, 404);  // no silent trailing-slash aliases

  const auto wrong = client->del("/healthz");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.error_code(), "method_not_allowed");
  EXPECT_EQ(wrong.header("allow"), "GET, HEAD");  // every GET route answers HEAD
  EXPECT_EQ(client->connections_opened(), 1);  // errors keep the connection
}

TEST_F(HttpServerTest, AuthenticatedRoutesNeedAValidBearerToken) {
  const auto alice = create_user("alice");
  auto anonymous = anonymous_client();
  const auto missing = anonymous->get("/test/whoami");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.error_code(), "unauthorized");
  EXPECT_THAT(missing.header("www-authenticate"), HasSubstr("Bearer"));

  EXPECT_EQ(anonymous->get("/test/whoami", {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}}).status, 401);
  auto forged = anonymous_client("tl_" + std::string(43, 'x'));
  const auto bad = forged->get("/test/whoami");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.error_code(), "unauthorized");

  auto client = alice.client();
  const auto me = client->get("/test/whoami");
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.body, "{\"user_id\":\"" + to_string(alice.id) + "\"}");
  // The scheme is case-insensitive (RFC 7235).
  EXPECT_EQ(anonymous->get("/test/whoami", {{"Authorization", "bearer " + alice.token}}).status, 200);
}

TEST_F(HttpServerTest, PathCapturesAndQueriesArePercentDecoded) {
  auto client = anonymous_client();
  const auto echo = client->get("/test/echo/a%20b%2Fc?q=x+y%21&other=1");
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.body, R"({"value":"a b/c","q":"x y!"})");

  const auto bad = client->get("/test/echo/a%zz");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.error_code(), "validation_failed");
  EXPECT_EQ(client->get("/test/echo/ok?q=%4").status, 400);
}

TEST_F(HttpServerTest, ABodyOverTheLimitIs413InTheErrorShape) {
  auto client = anonymous_client();
  const auto response = client->post("/test/whoami", std::string(1024 * 1024 + 1, 'x'));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.error_code(), "payload_too_large");
  EXPECT_EQ(response.header("connection"), "close");

  // Exactly at the limit is fine.
  auto again = anonymous_client();
  const auto at_limit = again->post("/test/body", std::string(1024 * 1024, 'x'));
  EXPECT_EQ(at_limit.status, 200);
  EXPECT_EQ(at_limit.body, R"({"bytes":1048576})");
}

TEST_F(HttpServerTest, ExpectContinueGetsTheGoAheadBeforeTheBodyIsSent) {
  auto client = anonymous_client();
  client->send_raw("POST /test/body HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: 2000\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client->read_response().status, 100);
  client->send_raw(std::string(2000, 'b'));
  const auto response = client->read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"bytes":2000})");

  // A declared body over the limit is refused without the go-ahead.
  auto big = anonymous_client();
  big->send_raw("POST /test/body HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n");
  const auto refused = big->read_response();
  EXPECT_EQ(refused.status, 413);
  EXPECT_EQ(refused.error_code(), "payload_too_large");
}

TEST_F(HttpServerTest, HeadersOverTheLimitAre431InTheErrorShape) {
  auto client = anonymous_client();
  const auto response = client->get("/healthz", {{"X-Padding", std::string(20 * 1024, 'h')}});
  EXPECT_EQ(response.status, 431);
  EXPECT_EQ(response.error_code(), "payload_too_large");
}

TEST_F(HttpServerTest, AMalformedRequestIs400InTheErrorShape) {
  auto client = anonymous_client();
  client->send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n");
  const auto response = client->read_response();
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.error_code(), "validation_failed");
  EXPECT_TRUE(client->wait_until_closed(10s));
}

TEST_F(HttpServerTest, AnAsynchronousRouteAnswersFromAnotherThreadInTheSameShapes) {
  auto client = anonymous_client();
  const auto ok = client->get("/test/later/ok");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body, R"({"later":true})");
  const auto refused = client->get("/test/later/refused");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.error_code(), "illegal_transition");
  const auto throws = client->get("/test/later/throws");
  EXPECT_EQ(throws.status, 500) << throws.body;
  EXPECT_EQ(throws.error_code(), "internal");
  const auto early = client->get("/test/later/early");
  EXPECT_EQ(early.status, 422) << early.body;
  EXPECT_EQ(early.error_code(), "validation_failed");
  // The connection stayed in step through all four, and the route's answers were counted.
  EXPECT_EQ(client->get("/healthz").status, 200);
  const auto metrics = client->get("/metrics");
  EXPECT_THAT(metrics.body, HasSubstr(R"(tasklog_http_requests_total{route="/test/later/{outcome}",status="409"} 1)"));
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  auto client = anonymous_client();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client->get("/healthz").status, 200);
  EXPECT_EQ(client->connections_opened(), 1);
  EXPECT_TRUE(client->is_open());
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto client = anonymous_client();
  client->send_raw(
      "GET /test/echo/first HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /test/echo/second HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto first = client->read_response();
  const auto second = client->read_response();
  const auto third = client->read_response();
  EXPECT_EQ(first.body, R"({"value":"first","q":""})");
  EXPECT_EQ(second.body, R"({"value":"second","q":""})");
  EXPECT_EQ(third.status, 404);
  EXPECT_EQ(client->connections_opened(), 1);
}

// Found by tests/fuzz (http_request_fuzz; corpus file crash-head-with-content): the answer to HEAD
// carried the content a GET gets. A client reads none after a HEAD, so on a keep-alive connection
// the next response seemed to begin with those bytes.
TEST_F(HttpServerTest, TheAnswerToHeadHasNoContentAndTheConnectionStaysInStep) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect(endpoint());
  boost::asio::write(socket, boost::asio::buffer(std::string_view(
                                 "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  std::string received;
  boost::system::error_code ec;
  boost::asio::read(socket, boost::asio::dynamic_buffer(received), ec);  // until the server closes
  ASSERT_EQ(ec, boost::asio::error::eof) << ec.message();

  http::response_parser<http::string_body> head;
  head.skip(true);  // what a client that sent HEAD does: no content, whatever Content-Length says
  head.eager(true);
  const auto used = head.put(boost::asio::buffer(received), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(head.is_done()) << received;
  EXPECT_EQ(head.get().result_int(), 200);  // RFC 9110: a GET route answers HEAD
  EXPECT_EQ(head.get()[http::field::content_length], "15");  // the size of what a GET gets
  EXPECT_EQ(head.get()[http::field::content_type], "application/json");

  http::response_parser<http::string_body> get;
  get.eager(true);
  get.put(boost::asio::buffer(received.data() + used, received.size() - used), ec);
  ASSERT_FALSE(ec) << ec.message() << "\n" << received;
  ASSERT_TRUE(get.is_done()) << received;
  EXPECT_EQ(get.get().result_int(), 200);
  EXPECT_EQ(get.get().body(), R"({"status":"ok"})");
}

class HttpServerIdleTest : public HttpServerTest {
 protected:
  HttpServerIdleTest() { idle_timeout_ = 1s; }
};

TEST_F(HttpServerIdleTest, IdleConnectionsAreClosed) {
  auto silent = anonymous_client();
  silent->connect();
  EXPECT_TRUE(silent->wait_until_closed(10s));

  auto done = anonymous_client();
  EXPECT_EQ(done->get("/healthz").status, 200);
  EXPECT_TRUE(done->wait_until_closed(10s));  // the idle timeout applies between requests too
}

TEST_F(HttpServerTest, StopLetsAnInFlightRequestFinish) {
  auto idle = anonymous_client();
  ASSERT_EQ(idle->get("/healthz").status, 200);

  auto busy_result = std::async(std::launch::async, [endpoint = endpoint()] {
    HttpClient busy(endpoint);
    return busy.get("/test/block");
  });
  entered_block_.get_future().wait();

  auto stopped = std::async(std::launch::async, [this] { server_->stop(); });
  // Idle connections are closed and no new ones are accepted while the request runs.
  EXPECT_TRUE(idle->wait_until_closed(10s));
  EXPECT_TRUE(eventually([&] {
    try {
      HttpClient late(endpoint());
      late.set_timeout(2s);
      late.get("/healthz");
      return false;
    } catch (const std::exception&) {
      return true;
    }
  }));
  EXPECT_EQ(stopped.wait_for(0s), std::future_status::timeout);  // still waiting for the request

  release_block_.set_value();
  const auto response = busy_result.get();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"finished":true})");
  EXPECT_EQ(response.header("connection"), "close");
  stopped.get();
}

// The database goes away under a running server and comes back: requests that need it answer
// 503 meanwhile, the process stays up, and it recovers without a restart. Its own PostgreSQL: the
// shared test cluster is never stopped.
TEST(HttpServerDatabaseTest, DatabaseDownIs503AndTheServerRecoversWhenItReturns) {
  TempDir dir;
  events::EmbeddedPostgresOptions pg_options;
  pg_options.home = dir.path() / "home";
  pg_options.settings = {"fsync=off"};
  events::EmbeddedPostgres pg(pg_options);
  pg.start();
  struct StopAtExit {
    events::EmbeddedPostgres& pg;
    ~StopAtExit() {
      try {
        pg.stop();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "could not stop the test's PostgreSQL: " << e.what();
      }
    }
  } stop_at_exit{pg};
  events::Migrator(pg.conninfo()).migrate(events::embedded_migrations());
  std::string token;
  {
    pqxx::connection c{pg.conninfo()};
    token = api::create_user(c, "ops@example.test", "ops").second.secret;
  }

  std::promise<void> unused_entered;
  std::promise<void> unused_release;
  api::ApiServerOptions options;
  options.conninfo = pg.conninfo();
  options.listen = {boost::asio::ip::make_address("127.0.0.1"), 0};
  options.io_threads = 2;
  options.worker_threads = 2;
  options.run_reaper = false;
  options.extra_routes = [&](api::Router& router) {
    add_probe_routes(router, unused_release.get_future().share(), &unused_entered);
  };
  api::ApiServer server(std::move(options));
  server.start();

  HttpClient client(server.endpoint(), token);
  ASSERT_EQ(client.get("/readyz").status, 200);
  ASSERT_EQ(client.get("/test/whoami").status, 200);

  pg.stop();
  const auto ready = client.get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.error_code(), "unavailable");
  EXPECT_FALSE(ready.header("retry-after").empty());
  // Nobody signed in reads this: libpq's reason (the socket's path) stays in the server's log.
  EXPECT_THAT(ready.body, ::testing::Not(HasSubstr(".s.PGSQL"))) << ready.body;
  EXPECT_THAT(ready.body, ::testing::Not(HasSubstr(pg_options.home.string()))) << ready.body;
  const auto authenticated = client.get("/test/whoami");
  EXPECT_EQ(authenticated.status, 503) << authenticated.body;
  EXPECT_EQ(authenticated.error_code(), "unavailable");
  EXPECT_EQ(client.get("/healthz").status, 200);  // the process itself is fine

  events::EmbeddedPostgres(pg_options).start();  // a new launcher, as a restarted operator would use
  EXPECT_TRUE(eventually([&] { return client.get("/readyz").status == 200; }));
  const auto back = client.get("/test/whoami");
  EXPECT_EQ(back.status, 200) << back.body;
  server.stop();
}

}  // namespace
}  // namespace tasklog::testing
