// http_bench: the HTTP API under load from a Boost.Beast client (keep-alive connections, one
// request in flight on each), against an in-process ApiServer on its own migrated database:
// task creations/s, claim + complete cycles/s, task reads/s and project-context reads/s, each
// printed beside the raw PostgreSQL limit measured by pgbench on the same cluster in the same run
// (one-row INSERT transactions for the writes, point selects by primary key for the reads).
//
//   http_bench [--database-url URL] [--seconds N] [--connections 8,32] [--client-threads N]
//              [--server-workers N] [--context-tasks N]
#include "api/api_server.hpp"
#include "api/auth.hpp"
#include "benchmarks/bench_support.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <pqxx/pqxx>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace tasklog;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Response = http::response<http::string_body>;

// No request of a healthy server takes this long; a stuck one fails the run instead of hanging it.
constexpr std::chrono::seconds kRequestTimeout{30};

struct Exchange {
  http::verb method = http::verb::get;
  std::string target{};
  std::string body{};  // JSON; empty: no body
};

Exchange post(std::string target, std::string body) {
  return {.method = http::verb::post, .target = std::move(target), .body = std::move(body)};
}
Exchange get(std::string target) { return {.method = http::verb::get, .target = std::move(target), .body = {}}; }

// Beast's string_view (boost's in 1.74) as text fmt can print.
std::string text(beast::string_view s) { return {s.data(), s.size()}; }

rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw std::runtime_error("answer is not a JSON object: " + body);
  return doc;
}

// The string at a path of members ("data", "id"); throws when absent.
std::string string_at(const rapidjson::Value& root, std::initializer_list<const char*> path) {
  const rapidjson::Value* v = &root;
  for (const char* member : path) {
    if (!v->IsObject() || !v->HasMember(member)) throw std::runtime_error(fmt::format("answer has no {}", member));
    v = &(*v)[member];
  }
  if (!v->IsString()) throw std::runtime_error("answer member is not a string");
  return {v->GetString(), v->GetStringLength()};
}

// What a connection makes of one 2xx answer.
struct Step {
  std::optional<Exchange> next{};  // the unit's next request; none: the unit is complete
  bool exhausted = false;          // nothing left to do (no ready task): the connection stops
};

// One kind of load, as units of one or more requests in sequence. A connection runs one unit at
// a time and calls its scenario only from its own chain of handlers, so state kept per connection
// index needs no lock.
class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual Exchange begin(int connection) = 0;
  virtual Step advance(int connection, const Response& answer) = 0;
};

// What one connection saw during a phase.
struct ConnectionStats {
  std::uint64_t units = 0;     // units completed before the stop
  std::uint64_t requests = 0;  // answers read, whenever
  std::uint64_t non_2xx = 0;
  std::uint64_t transport_errors = 0;
  std::uint64_t reconnects = 0;  // the server answered with Connection: close
  bool exhausted = false;
  std::map<unsigned, std::uint64_t> statuses{};  // non-2xx answers by status
  std::string first_error{};
  std::vector<std::uint32_t> latency_us{};  // per completed unit
};

// One keep-alive connection driving a scenario: async write, async read, repeat until the stop
// flag is seen at the start of a unit. A unit that got a non-2xx answer is abandoned (counted in
// non_2xx, not in units) and the next begins.
class LoadConnection : public std::enable_shared_from_this<LoadConnection> {
 public:
  LoadConnection(net::io_context& io, tcp::endpoint server, const std::string& token, Scenario& scenario, int index,
                 const std::atomic<bool>& stop, ConnectionStats& stats)
      : stream_(io),
        server_(server),
        host_(server.address().to_string()),
        authorization_("Bearer " + token),
        scenario_(scenario),
        index_(index),
        stop_(stop),
        stats_(stats) {}

  // Before the clock starts, so the measurement holds no handshakes.
  void connect() { stream_.connect(server_); }

  void start() { net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->begin_unit(); }); }

 private:
  void begin_unit() {
    if (stop_.load(std::memory_order_relaxed)) return close();
    unit_start_ = Clock::now();
    Exchange first;
    try {
      first = scenario_.begin(index_);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
    send(std::move(first));
  }

  void send(Exchange exchange) {
    request_ = {};
    request_.method(exchange.method);
    request_.target(exchange.target);
    request_.version(11);
    request_.keep_alive(true);
    request_.set(http::field::host, host_);
    request_.set(http::field::authorization, authorization_);
    if (!exchange.body.empty()) {
      request_.set(http::field::content_type, "application/json");
      request_.body() = std::move(exchange.body);
    }
    request_.prepare_payload();
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, request_, beast::bind_front_handler(&LoadConnection::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return fail("write: " + ec.message());
    response_ = {};
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, response_,
                     beast::bind_front_handler(&LoadConnection::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail("read: " + ec.message());
    ++stats_.requests;
    const unsigned status = response_.result_int();
    std::optional<Exchange> next;
    if (status < 200 || status >= 300) {
      ++stats_.non_2xx;
      ++stats_.statuses[status];
      if (stats_.first_error.empty())
        stats_.first_error = fmt::format("{} {} -> {} {}", text(request_.method_string()), text(request_.target()), status,
                                         response_.body().substr(0, 300));
    } else {
      Step step;
      try {
        step = scenario_.advance(index_, response_);
      } catch (const std::exception& e) {
        return fail(e.what());
      }
      if (step.exhausted) {
        stats_.exhausted = true;
        return close();
      }
      if (!step.next && !stop_.load(std::memory_order_relaxed)) {
        ++stats_.units;
        stats_.latency_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - unit_start_).count()));
      }
      next = std::move(step.next);
    }
    if (!response_.keep_alive()) return reconnect(std::move(next));
    continue_with(std::move(next));
  }

  void continue_with(std::optional<Exchange> next) {
    if (next) return send(std::move(*next));
    begin_unit();
  }

  // The server closed the connection after its answer: open another and go on where we were.
  void reconnect(std::optional<Exchange> next) {
    ++stats_.reconnects;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
    stream_.expires_after(kRequestTimeout);
    stream_.async_connect(server_, [self = shared_from_this(), next = std::move(next)](beast::error_code ec) mutable {
      if (ec) return self->fail("connect: " + ec.message());
      self->continue_with(std::move(next));
    });
  }

  void fail(const std::string& what) {
    ++stats_.transport_errors;
    if (stats_.first_error.empty()) stats_.first_error = what;
    close();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  tcp::endpoint server_;
  std::string host_;
  std::string authorization_;
  Scenario& scenario_;
  int index_;
  const std::atomic<bool>& stop_;
  ConnectionStats& stats_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  Response response_;
  Clock::time_point unit_start_{};
};

struct PhaseResult {
  double units_per_s = 0;
  double requests_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::uint64_t units = 0;
  std::uint64_t non_2xx = 0;
  std::uint64_t transport_errors = 0;
  std::uint64_t reconnects = 0;
  int exhausted_connections = 0;
  std::map<unsigned, std::uint64_t> statuses{};
  std::string first_error{};
};

double percentile_ms(std::vector<std::uint32_t>& us, double p) {
  if (us.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * double(us.size() - 1));
  std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(k), us.end());
  return us[k] / 1000.0;
}

// Runs `connections` connections of `scenario` for `duration` on `client_threads` threads of one
// io_context. Units completed before the stop count; the ones in flight then finish uncounted.
PhaseResult run_phase(const tcp::endpoint& server, const std::string& token, Scenario& scenario, int connections,
                      int client_threads, std::chrono::seconds duration) {
  net::io_context io(client_threads);
  std::atomic<bool> stop{false};
  std::vector<ConnectionStats> stats(static_cast<std::size_t>(connections));
  std::vector<std::shared_ptr<LoadConnection>> conns;
  for (int c = 0; c < connections; ++c) {
    conns.push_back(std::make_shared<LoadConnection>(io, server, token, scenario, c, stop, stats[std::size_t(c)]));
    conns.back()->connect();
  }
  const auto start = Clock::now();
  for (auto& c : conns) c->start();
  conns.clear();  // the handlers own them from here
  std::vector<std::thread> threads;
  for (int t = 0; t < client_threads; ++t) threads.emplace_back([&io] { io.run(); });
  std::this_thread::sleep_for(duration);
  stop = true;
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& t : threads) t.join();  // each connection closes after its unit in flight

  PhaseResult r;
  std::uint64_t requests = 0;
  std::vector<std::uint32_t> latency;
  for (auto& s : stats) {
    r.units += s.units;
    requests += s.requests;
    r.non_2xx += s.non_2xx;
    r.transport_errors += s.transport_errors;
    r.reconnects += s.reconnects;
    r.exhausted_connections += s.exhausted ? 1 : 0;
    for (const auto& [status, n] : s.statuses) r.statuses[status] += n;
    if (r.first_error.empty()) r.first_error = s.first_error;
    latency.insert(latency.end(), s.latency_us.begin(), s.latency_us.end());
  }
  r.units_per_s = double(r.units) / secs;
  r.requests_per_s = double(requests) / secs;
  r.p50_ms = percentile_ms(latency, 0.50);
  r.p99_ms = percentile_ms(latency, 0.99);
  return r;
}

// POST /v1/projects/{id}/tasks; keeps each created task's id for the reads.
class CreateTasks : public Scenario {
 public:
  CreateTasks(std::string project, int connections)
      : target_("/v1/projects/" + project + "/tasks"), ids_(std::size_t(connections)), sent_(std::size_t(connections)) {}
  Exchange begin(int c) override {
    return post(target_, fmt::format(R"({{"title":"task {}-{}","description":"Check the cloud bill against forecast; )"
                                     R"(flag any service whose spend grew over 10%.","priority":"{}",)"
                                     R"("acceptance_criteria":["report attached"]}})",
                                     c, sent_[std::size_t(c)], kPriorities[sent_[std::size_t(c)] % 4]));
  }
  Step advance(int c, const Response& answer) override {
    ++sent_[std::size_t(c)];
    ids_[std::size_t(c)].push_back(string_at(parse_json(answer.body()), {"data", "id"}));
    return {};
  }
  std::vector<std::string> ids() const {
    std::vector<std::string> all;
    for (const auto& v : ids_) all.insert(all.end(), v.begin(), v.end());
    return all;
  }

 private:
  static constexpr const char* kPriorities[] = {"low", "medium", "high", "critical"};
  std::string target_;
  std::vector<std::vector<std::string>> ids_;
  std::vector<std::uint64_t> sent_;
};

// POST /v1/projects/{id}/tasks/next, then POST /v1/tasks/{task}/complete with the lease token.
// A 204 (nothing ready) stops the connection.
class ClaimComplete : public Scenario {
 public:
  ClaimComplete(std::string project, int connections)
      : next_target_("/v1/projects/" + project + "/tasks/next"), picking_(std::size_t(connections), true) {}
  Exchange begin(int c) override {
    picking_[std::size_t(c)] = true;
    return post(next_target_, fmt::format(R"({{"agent":"agent-{}","lease_seconds":300}})", c));
  }
  Step advance(int c, const Response& answer) override {
    if (!picking_[std::size_t(c)]) return {};  // the complete: the cycle is done
    if (answer.result() == http::status::no_content) return {.next = std::nullopt, .exhausted = true};
    picking_[std::size_t(c)] = false;
    const auto doc = parse_json(answer.body());
    return {.next = post("/v1/tasks/" + string_at(doc, {"data", "id"}) + "/complete",
                         fmt::format(R"({{"lease_token":"{}","summary":"done"}})", string_at(doc, {"lease", "token"}))),
            .exhausted = false};
  }

 private:
  std::string next_target_;
  std::vector<char> picking_;  // per connection (not vector<bool>: connections may run on several threads)
};

// GET of a fixed set of targets, each connection walking the set from its own offset.
class ReadTargets : public Scenario {
 public:
  ReadTargets(std::vector<std::string> targets, int connections)
      : targets_(std::move(targets)), next_(std::size_t(connections)) {
    if (targets_.empty()) throw std::invalid_argument("nothing to read");
    for (std::size_t c = 0; c < next_.size(); ++c) next_[c] = c * targets_.size() / next_.size();
  }
  Exchange begin(int c) override { return get(targets_[next_[std::size_t(c)]++ % targets_.size()]); }
  Step advance(int, const Response&) override { return {}; }

 private:
  std::vector<std::string> targets_;
  std::vector<std::size_t> next_;
};

// A blocking Beast client for setting the stage (project, context tasks, records) before a phase.
class SetupClient {
 public:
  SetupClient(tcp::endpoint server, std::string token) : stream_(io_), token_(std::move(token)) {
    stream_.connect(server);
  }
  ~SetupClient() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  // Sends the request; throws unless the status is `expect`. Returns the body as JSON (an empty
  // object for an empty body).
  rapidjson::Document call(const Exchange& exchange, http::status expect) {
    http::request<http::string_body> req{exchange.method, exchange.target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + token_);
    if (!exchange.body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = exchange.body;
    }
    req.prepare_payload();
    http::write(stream_, req);
    Response res;
    http::read(stream_, buffer_, res);
    if (res.result() != expect)
      throw std::runtime_error(fmt::format("setup: {} {} -> {} {}", text(req.method_string()), exchange.target,
                                           res.result_int(), res.body()));
    if (res.body().empty()) return parse_json("{}");
    return parse_json(res.body());
  }

 private:
  net::io_context io_;
  beast::tcp_stream stream_;
  std::string token_;
  beast::flat_buffer buffer_;
};

std::string create_project(SetupClient& client, const std::string& name) {
  const auto doc = client.call(post("/v1/projects", fmt::format(R"({{"name":"{}","rules":{{"gates":[]}}}})", name)),
                               http::status::created);
  // Completion must not be refused by a gate, or the claim + complete cycle measures refusals.
  const auto& rules = doc["data"]["rules"];
  if (rules.HasMember("gates") && !rules["gates"].Empty())
    throw std::runtime_error("the benchmark project has gates; completion would be refused");
  return string_at(doc, {"data", "id"});
}

// A project the size an agent's context usually has: `tasks` tasks, a fifth of them done, a few in
// progress, a checkpoint and some decisions. The context lists every task of the project, so its
// read cost grows with the project; this is the one GET /context is measured on.
std::string create_context_project(SetupClient& client, int tasks) {
  const std::string project = create_project(client, "http_bench_context");
  for (int i = 0; i < tasks; ++i)
    client.call(post("/v1/projects/" + project + "/tasks",
                     fmt::format(R"({{"title":"context task {}","description":"Part of the release plan.",)"
                                 R"("acceptance_criteria":["tests pass","docs updated"]}})",
                                 i)),
                http::status::created);
  const int done = tasks / 5;
  const int in_progress = std::min(5, tasks - done);
  for (int i = 0; i < done + in_progress; ++i) {
    const auto picked = client.call(post("/v1/projects/" + project + "/tasks/next",
                                         fmt::format(R"({{"agent":"context-agent-{}","lease_seconds":3600}})", i)),
                                    http::status::ok);
    if (i >= done) continue;
    client.call(post("/v1/tasks/" + string_at(picked, {"data", "id"}) + "/complete",
                     fmt::format(R"({{"lease_token":"{}","summary":"done"}})", string_at(picked, {"lease", "token"}))),
                http::status::ok);
  }
  client.call(post("/v1/projects/" + project + "/checkpoints",
                   R"({"label":"milestone 1","summary":"First fifth of the plan done.","resume_instructions":"Pick the next ready task."})"),
              http::status::created);
  for (int i = 0; i < 3; ++i)
    client.call(post("/v1/projects/" + project + "/decisions",
                     fmt::format(R"({{"title":"decision {}","choice":"b","rationale":"Cheaper to run.","options":["a","b"]}})", i)),
                http::status::created);
  return project;
}

struct Row {
  std::string key;  // the figure's name for benchmarks/run: "<key>@<connections>"
  std::string operation;
  int connections = 0;
  PhaseResult ours{};
  std::string raw_name{};
  double raw = 0;
};

void report_phase(const Row& row) {
  bench::report_figure(fmt::format("{}@{}", row.key, row.connections), row.ours.units_per_s, row.raw);
  std::cerr << fmt::format("{} connections={}: {:.0f}/s raw={:.0f}/s ratio={:.3f} p50={:.2f}ms p99={:.2f}ms "
                           "non-2xx={} transport-errors={} reconnects={}\n",
                           row.operation, row.connections, row.ours.units_per_s, row.raw, row.ours.units_per_s / row.raw,
                           row.ours.p50_ms, row.ours.p99_ms, row.ours.non_2xx, row.ours.transport_errors,
                           row.ours.reconnects);
  if (!row.ours.first_error.empty()) std::cerr << "  first error: " << row.ours.first_error << "\n";
  if (row.ours.exhausted_connections > 0)
    std::cerr << fmt::format("  {} connections ran out of ready tasks before the end; the rate is low\n",
                             row.ours.exhausted_connections);
}

std::string statuses_text(const PhaseResult& r) {
  if (r.statuses.empty() && r.transport_errors == 0) return "0";
  std::string out = std::to_string(r.non_2xx + r.transport_errors);
  std::string sep = " (";
  for (const auto& [status, n] : r.statuses) {
    out += fmt::format("{}{}: {}", sep, status, n);
    sep = ", ";
  }
  if (r.transport_errors) {
    out += fmt::format("{}transport: {}", sep, r.transport_errors);
    sep = ", ";
  }
  if (sep == ", ") out += ")";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"http_bench: the HTTP API under keep-alive load beside the raw PostgreSQL limits"};
  std::optional<std::string> url;
  int seconds = 10;
  std::vector<int> connections{8, 32};
  int client_threads = 1;
  api::ApiServerOptions defaults;
  unsigned server_workers = defaults.worker_threads;
  unsigned server_io_threads = defaults.io_threads;
  int context_tasks = 50;
  app.add_option("--database-url", url, "measure on this PostgreSQL instead of an embedded one");
  app.add_option("--seconds", seconds, "seconds per measurement")->check(CLI::PositiveNumber);
  app.add_option("--connections", connections, "concurrent keep-alive connections")->delimiter(',');
  app.add_option("--client-threads", client_threads, "threads running the load generator")->check(CLI::PositiveNumber);
  app.add_option("--server-workers", server_workers, "the server's handler threads (and pooled database connections)")
      ->check(CLI::PositiveNumber);
  app.add_option("--server-io-threads", server_io_threads, "the server's I/O threads (0: one per core)");
  app.add_option("--context-tasks", context_tasks, "tasks in the project whose context is read")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  const std::chrono::seconds duration(seconds);

  bench::BenchDatabase database(url);
  std::vector<Row> rows;
  for (int n : connections) {
    const std::string conninfo = database.fresh_database(fmt::format("http_bench_{}", n));
    // Raw first, then ours, on the same database, so both see the same cluster state.
    const auto raw_write = bench::raw_append(conninfo, n, seconds, "one");
    const auto raw_read = bench::raw_point_select(conninfo, n, seconds);
    std::cerr << fmt::format("connections={}: raw INSERT {:.0f} tps, raw point select {:.0f} tps over {} rows\n", n,
                             raw_write.tps, raw_read.tps, raw_read.rows);

    api::ApiServerOptions options;
    options.conninfo = conninfo;
    options.listen = {net::ip::make_address("127.0.0.1"), 0};
    options.worker_threads = server_workers;
    options.io_threads = server_io_threads;
    api::ApiServer server(std::move(options));
    server.start();
    const auto endpoint = server.endpoint();

    std::string token;
    {
      pqxx::connection c(conninfo);
      token = api::create_user(c, "bench@example.test", "http_bench").second.secret;
    }
    SetupClient setup(endpoint, token);
    const std::string project = create_project(setup, "http_bench");
    const std::string context_project = create_context_project(setup, context_tasks);

    CreateTasks create(project, n);
    rows.push_back({.key = "http_create",
                    .operation = "task create: POST /v1/projects/{id}/tasks",
                    .connections = n,
                    .ours = run_phase(endpoint, token, create, n, client_threads, duration),
                    .raw_name = "INSERT tps",
                    .raw = raw_write.tps});
    report_phase(rows.back());

    // The tasks just created are the ready ones this phase claims.
    ClaimComplete cycle(project, n);
    rows.push_back({.key = "http_cycle",
                    .operation = "claim + complete cycle: POST …/tasks/next, POST /v1/tasks/{id}/complete",
                    .connections = n,
                    .ours = run_phase(endpoint, token, cycle, n, client_threads, duration),
                    .raw_name = "INSERT tps",
                    .raw = raw_write.tps});
    report_phase(rows.back());

    std::vector<std::string> task_targets;
    for (const auto& id : create.ids()) task_targets.push_back("/v1/tasks/" + id);
    ReadTargets task_reads(std::move(task_targets), n);
    rows.push_back({.key = "http_get_task",
                    .operation = "task read: GET /v1/tasks/{id}",
                    .connections = n,
                    .ours = run_phase(endpoint, token, task_reads, n, client_threads, duration),
                    .raw_name = "point select tps",
                    .raw = raw_read.tps});
    report_phase(rows.back());

    ReadTargets context_reads({"/v1/projects/" + context_project + "/context"}, n);
    rows.push_back({.key = "http_context",
                    .operation = fmt::format("context read: GET /v1/projects/{{id}}/context ({} tasks)", context_tasks),
                    .connections = n,
                    .ours = run_phase(endpoint, token, context_reads, n, client_threads, duration),
                    .raw_name = "point select tps",
                    .raw = raw_read.tps});
    report_phase(rows.back());
    server.stop();
  }

  std::cout << fmt::format(
      "http_bench ({}; {} s per point; in-process ApiServer: {} worker threads, I/O threads {}; Beast client: {} "
      "thread(s); server, client, PostgreSQL and pgbench share this machine's {} cores)\n\n",
      bench::today(), seconds, server_workers, server_io_threads ? std::to_string(server_io_threads) : "one per core",
      client_threads, std::thread::hardware_concurrency());
  std::cout << "| operation | connections | per s | raw baseline | raw per s | ours / raw | p50 ms | p99 ms | non-2xx |\n";
  std::cout << "|---|---:|---:|---|---:|---:|---:|---:|---:|\n";
  std::uint64_t bad = 0;
  for (const auto& r : rows) {
    bad += r.ours.non_2xx + r.ours.transport_errors;
    std::cout << fmt::format("| {} | {} | {:.0f} | {} | {:.0f} | {:.3f}x | {:.2f} | {:.2f} | {} |\n", r.operation,
                             r.connections, r.ours.units_per_s, r.raw_name, r.raw, r.ours.units_per_s / r.raw,
                             r.ours.p50_ms, r.ours.p99_ms, statuses_text(r.ours));
  }
  std::cout << "\nA claim + complete cycle is two requests (two commands); its latency is the whole cycle's.\n";
  if (bad) {
    std::cerr << fmt::format("http_bench: {} requests failed (non-2xx or transport errors)\n", bad);
    return 1;
  }
  return 0;
}
