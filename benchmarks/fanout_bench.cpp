// fanout_bench: live timelines under load. N WebSocket subscribers (GET /v1/stream, one
// subscription each, all on one project) on an in-process ApiServer while a paced writer appends
// events to that project at a target rate through a TaskEngine on the same database (AppendMessage
// commands, async). Measures commit-to-receipt latency (steady clock: the engine's commit callback
// to the client's read of the event frame) over every subscriber × event — p50, p99, max — the
// events lost (every subscriber must receive every appended event, once, in order) and the
// process's resident memory (VmRSS) before the subscribers connect, once they are all caught up,
// and after the run, and the frames that carried the events (events per frame). Server, client,
// writer and PostgreSQL all share this machine.
//
//   fanout_bench [--database-url URL] [--subscribers 1000] [--rate 1000] [--seconds 10]
//                [--client-threads N] [--server-workers N] [--server-io-threads N]
#include "api/api_server.hpp"
#include "api/auth.hpp"
#include "benchmarks/bench_support.hpp"
#include "projections/task_engine.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <pqxx/pqxx>
#include <rapidjson/document.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace tasklog;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); 0 when unreadable.
std::int64_t proc_status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    return std::stoll(line.substr(field.size() + 1));
  }
  return 0;
}

// Two file descriptors per subscriber (client and server end, both in this process).
void raise_file_limit(int subscribers) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t want = static_cast<rlim_t>(subscribers) * 2 + 512;
  if (lim.rlim_cur >= want) return;
  lim.rlim_cur = std::min(want, lim.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < want)
    std::cerr << fmt::format("fanout_bench: open files limited to {} (want {}); connections may fail\n",
                             lim.rlim_cur, want);
}

// Latencies in 10 µs buckets up to 1 s, then 1 ms buckets up to 120 s (beyond: the last bucket).
// One per client thread (HistogramShards), merged after the run, so that a million receipts per
// second do not contend on shared counters.
class Histogram {
 public:
  static constexpr std::int64_t kFineNs = 10'000;
  static constexpr std::size_t kFine = 100'000;  // 1 s
  static constexpr std::int64_t kCoarseNs = 1'000'000;
  static constexpr std::size_t kCoarse = 119'000;  // 1 s .. 120 s
  Histogram() : buckets_(kFine + kCoarse) {}
  void add(std::int64_t ns) {
    if (ns < 0) ns = 0;
    ++buckets_[index(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }
  void merge(const Histogram& other) {
    for (std::size_t b = 0; b < buckets_.size(); ++b) buckets_[b] += other.buckets_[b];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }
  std::uint64_t count() const { return count_; }
  double max_ms() const { return double(max_) / 1e6; }
  // The upper edge of the bucket holding the p-quantile, in ms (never above the max).
  double percentile_ms(double p) const {
    const std::uint64_t n = count_;
    if (n == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(p * double(n - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      seen += buckets_[b];
      if (seen >= rank) return std::min(double(upper_ns(b)) / 1e6, max_ms());
    }
    return max_ms();
  }

 private:
  static std::size_t index(std::int64_t ns) {
    const auto fine = static_cast<std::size_t>(ns / kFineNs);
    if (fine < kFine) return fine;
    const auto coarse = static_cast<std::size_t>((ns - std::int64_t(kFine) * kFineNs) / kCoarseNs);
    return kFine + std::min(coarse, kCoarse - 1);
  }
  static std::int64_t upper_ns(std::size_t b) {
    if (b < kFine) return std::int64_t(b + 1) * kFineNs;
    return std::int64_t(kFine) * kFineNs + std::int64_t(b - kFine + 1) * kCoarseNs;
  }

 private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::int64_t max_ = 0;
};

// A histogram per thread that records (the client threads, and main after the run).
class HistogramShards {
 public:
  Histogram& local() {
    thread_local Histogram* shard = nullptr;  // one HistogramShards per process
    if (!shard) {
      std::lock_guard lock(mutex_);
      shard = shards_.emplace_back(std::make_unique<Histogram>()).get();
    }
    return *shard;
  }
  // After the recording threads have stopped.
  Histogram merged() {
    std::lock_guard lock(mutex_);
    Histogram all;
    for (const auto& shard : shards_) all.merge(*shard);
    return all;
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Histogram>> shards_;
};

// The commit time of each appended position, recorded by the writer, read by the subscribers: a
// window of the most recent positions (a slot is reused kWindow positions later), so the run's
// memory does not grow with the number of events. A receipt kWindow events late would have no
// commit time; with the drain bounded to seconds it cannot happen at the rates measured.
class CommitTimes {
 public:
  static constexpr std::size_t kWindow = 1 << 18;
  explicit CommitTimes(events::Position base) : base_(base), slots_(kWindow) {}
  void record(events::Position position, std::int64_t ns) {
    auto& slot = slots_[index(position)];
    slot.ns.store(ns, std::memory_order_relaxed);
    slot.position.store(position, std::memory_order_release);
  }
  // 0: not recorded yet (or no longer).
  std::int64_t at(events::Position position) const {
    const auto& slot = slots_[index(position)];
    if (slot.position.load(std::memory_order_acquire) != position) return 0;
    return slot.ns.load(std::memory_order_relaxed);
  }
  bool ours(events::Position position) const { return position > base_; }

 private:
  struct Slot {
    std::atomic<events::Position> position{0};
    std::atomic<std::int64_t> ns{0};
  };
  std::size_t index(events::Position position) const {
    return static_cast<std::size_t>(position - base_ - 1) % kWindow;
  }
  events::Position base_;
  std::vector<Slot> slots_;
};

// What the writer recorded and the subscribers measure against.
struct Run {
  events::Position base = 0;           // the subscribers' `after`: every later event is ours
  std::optional<CommitTimes> commits;  // made once base is known
  HistogramShards latency;
  std::atomic<int> caught_up{0};
  std::atomic<int> failed{0};
  std::atomic<int> setup_failed{0};  // before caught_up (also counted in caught_up)
  std::mutex error_mutex;
  std::string first_error;

  void fail(const std::string& what) {
    failed.fetch_add(1);
    std::lock_guard lock(error_mutex);
    if (first_error.empty()) first_error = what;
  }
};

// The positions in an event frame, read without parsing the whole message. An event object starts
// with its position — {"position":N,… — so in {"type":"event",…,"event":{…}} and in a batch frame
// {"type":"events",…,"events":[{…},{…}]} every `{"position":` is an event's own (payloads here are
// message texts, where a quote would be escaped). Checked against a full parse of each
// subscriber's first frame. Empty: not an event frame.
std::vector<std::int64_t> fast_event_positions(std::string_view m) {
  std::vector<std::int64_t> out;
  if (m.rfind(R"({"type":"event)", 0) != 0) return out;
  constexpr std::string_view key = R"({"position":)";
  for (auto at = m.find(key); at != std::string_view::npos; at = m.find(key, at + key.size())) {
    std::int64_t p = 0;
    const char* first = m.data() + at + key.size();
    if (std::from_chars(first, m.data() + m.size(), p).ec != std::errc{}) return {};
    out.push_back(p);
  }
  return out;
}

// The server's stream counters from GET /metrics ("tasklog_stream_…" lines), for the report.
std::string stream_metrics(const tcp::endpoint& server) {
  try {
    net::io_context io;
    beast::tcp_stream stream(io);
    stream.connect(server);
    beast::http::request<beast::http::empty_body> request(beast::http::verb::get, "/metrics", 11);
    request.set(beast::http::field::host, "127.0.0.1");
    beast::http::write(stream, request);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> response;
    beast::http::read(stream, buffer, response);
    std::string out;
    std::istringstream lines(response.body());
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("tasklog_stream_", 0) == 0) out += (out.empty() ? "" : ", ") + line.substr(15);
    return out;
  } catch (const std::exception& e) {
    return std::string("unavailable: ") + e.what();
  }
}

// One WebSocket subscriber: connect, upgrade with the bearer token and the project subscription
// in the query, then read forever. Receipts whose commit time is not recorded yet (the commit
// callback and the notification raced) are kept and resolved after the run.
class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(net::io_context& io, tcp::endpoint server, std::string target, std::string authorization, Run& run,
             std::function<void()> on_caught_up)
      : ws_(io),
        server_(server),
        target_(std::move(target)),
        authorization_(std::move(authorization)),
        run_(run),
        on_caught_up_(std::move(on_caught_up)) {}

  void start() {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(ws_).async_connect(
        server_, beast::bind_front_handler(&Subscriber::on_connect, shared_from_this()));
  }

  void close() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  std::int64_t received = 0;
  std::int64_t frames = 0;  // messages that carried events
  std::atomic<std::int64_t> last_position{0};  // read by main while the run drains
  std::int64_t out_of_order = 0;  // duplicates or positions going backwards
  // (position, receipt ns) of receipts that beat the writer's commit callback; resolved as the
  // callbacks arrive, so the list stays short.
  std::vector<std::pair<events::Position, std::int64_t>> unresolved{};

  // Records the receipts whose commit time is known now; false for those still unknown.
  void resolve(Histogram& latency) {
    std::erase_if(unresolved, [&](const auto& receipt) {
      const auto commit = run_.commits->at(receipt.first);
      if (commit != 0) latency.add(receipt.second - commit);
      return commit != 0;
    });
  }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return fail("connect: " + ec.message());
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.set_option(websocket::stream_base::decorator([auth = authorization_](websocket::request_type& req) {
      req.set(beast::http::field::authorization, auth);
    }));
    ws_.async_handshake(server_.address().to_string(), target_,
                        beast::bind_front_handler(&Subscriber::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail("handshake: " + ec.message());
    read();
  }

  void read() {
    buffer_.clear();
    ws_.async_read(buffer_, beast::bind_front_handler(&Subscriber::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    const std::int64_t at = now_ns();
    if (ec) {
      if (ec == net::error::operation_aborted || ec == net::error::bad_descriptor) return;
      return fail("read: " + ec.message());
    }
    const auto data = buffer_.cdata();
    const std::string_view message(static_cast<const char*>(data.data()), data.size());
    const auto positions = fast_event_positions(message);
    if (received == 0 && !positions.empty()) {
      if (full_event_positions(message) != positions)
        return fail("event position misread: " + std::string(message.substr(0, 300)));
    }
    if (!positions.empty()) {
      ++frames;
      auto& latency = run_.latency.local();
      if (!unresolved.empty()) resolve(latency);
      for (const auto position : positions) on_event(position, at, latency);
    } else if (message.find(R"("type":"caught_up")") != std::string_view::npos) {
      if (!caught_up_) {
        caught_up_ = true;
        run_.caught_up.fetch_add(1);
        if (on_caught_up_) on_caught_up_();
      }
    } else if (message.find(R"("type":"error")") != std::string_view::npos) {
      return fail("server error: " + std::string(message.substr(0, 300)));
    }
    read();
  }

  void on_event(std::int64_t position, std::int64_t at, Histogram& latency) {
    ++received;
    const auto last = last_position.load(std::memory_order_relaxed);
    if (position <= last) ++out_of_order;
    else last_position.store(position, std::memory_order_relaxed);
    if (!run_.commits->ours(position)) return;
    const auto commit = run_.commits->at(position);
    if (commit == 0)
      unresolved.emplace_back(position, at);
    else
      latency.add(at - commit);
  }

  static std::vector<std::int64_t> full_event_positions(std::string_view message) {
    rapidjson::Document doc;
    doc.Parse(message.data(), message.size());
    std::vector<std::int64_t> out;
    if (doc.HasParseError() || !doc.IsObject()) return out;
    auto add = [&](const rapidjson::Value& e) {
      if (e.IsObject() && e.HasMember("position") && e["position"].IsInt64()) out.push_back(e["position"].GetInt64());
    };
    if (doc.HasMember("event")) add(doc["event"]);
    if (doc.HasMember("events") && doc["events"].IsArray())
      for (const auto& e : doc["events"].GetArray()) add(e);
    return out;
  }

  void fail(const std::string& what) {
    run_.fail(what);
    if (!caught_up_) {  // counted as settled, so the next connection starts and the wait ends
      caught_up_ = true;
      run_.setup_failed.fetch_add(1);
      run_.caught_up.fetch_add(1);
      if (on_caught_up_) on_caught_up_();
    }
    close();
  }

  websocket::stream<beast::tcp_stream> ws_;
  tcp::endpoint server_;
  std::string target_;
  std::string authorization_;
  Run& run_;
  std::function<void()> on_caught_up_;
  beast::flat_buffer buffer_;
  bool caught_up_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fanout_bench: commit-to-receipt latency of WebSocket subscribers while events are appended"};
  std::optional<std::string> url;
  int subscribers = 1000;
  int rate = 1000;
  int seconds = 10;
  int client_threads = 2;
  int connecting = 64;
  int drain_seconds = 60;
  int tasks = 32;
  api::ApiServerOptions defaults;
  unsigned server_workers = defaults.worker_threads;
  unsigned server_io_threads = defaults.io_threads;
  app.add_option("--database-url", url, "measure on this PostgreSQL instead of an embedded one");
  app.add_option("--subscribers", subscribers, "WebSocket subscribers, one subscription each, on one project")
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", rate, "events appended per second")->check(CLI::PositiveNumber);
  app.add_option("--seconds", seconds, "seconds of appending")->check(CLI::PositiveNumber);
  app.add_option("--client-threads", client_threads, "threads running the subscribers")->check(CLI::PositiveNumber);
  app.add_option("--connecting", connecting, "subscribers connecting at once while setting up")
      ->check(CLI::PositiveNumber);
  app.add_option("--tasks", tasks,
                 "tasks of the project the messages are spread over (one stream each: commands on one stream do not "
                 "share a commit)")
      ->check(CLI::PositiveNumber);
  app.add_option("--drain-seconds", drain_seconds,
                 "after the last append, how long subscribers may take to receive it before the rest counts as lost")
      ->check(CLI::PositiveNumber);
  bool batch = true;
  app.add_option("--batch", batch,
                 "subscribe with ?batch=true (several events per frame when they wait together); false: a frame per "
                 "event");
  int send_buffer = api::StreamOptions{}.send_buffer_bytes;
  app.add_option("--send-buffer", send_buffer, "SO_SNDBUF of the server's WebSocket connections (0: the system's)");
  auto wake_interval_ms = api::StreamOptions{}.wake_interval.count();
  app.add_option("--wake-interval", wake_interval_ms,
                 "ms: the server reads the log and wakes its sessions at most once per this interval");
  app.add_option("--server-workers", server_workers, "the server's handler threads (and pooled database connections)")
      ->check(CLI::PositiveNumber);
  app.add_option("--server-io-threads", server_io_threads, "the server's I/O threads (0: one per core)");
  CLI11_PARSE(app, argc, argv);
  raise_file_limit(subscribers);

  bench::BenchDatabase database(url);
  const std::string conninfo = database.fresh_database("fanout_bench");

  api::ApiServerOptions options;
  options.conninfo = conninfo;
  options.listen = {net::ip::make_address("127.0.0.1"), 0};
  options.worker_threads = server_workers;
  options.io_threads = server_io_threads;
  options.stream.send_buffer_bytes = send_buffer;
  options.stream.wake_interval = std::chrono::milliseconds(wake_interval_ms);
  api::ApiServer server(std::move(options));
  server.start();
  const auto endpoint = server.endpoint();

  std::string token;
  Uuid user{};
  {
    pqxx::connection c(conninfo);
    auto [record, secret] = api::create_user(c, "bench@example.test", "fanout_bench");
    token = secret.secret;
    user = record.id;
  }

  // The writer: a TaskEngine on its own store, acting as the subscribers' user (the project's owner).
  events::EventStore store(projections::engine_store_options(conninfo));
  projections::TaskEngine engine(store);
  const auto created =
      engine.execute(CreateProject{.project_name = "fanout_bench", .description = "", .rules = {}}, user);
  const Uuid project = std::get<ProjectCreated>(created.events.at(0)).project_id;
  std::vector<Uuid> task_ids;
  events::Position setup_position = 0;
  for (int t = 0; t < tasks; ++t) {
    const auto task_created = engine.execute(
        CreateTask{.project_id = project, .title = fmt::format("fanout {}", t), .description = "Where the messages go."},
        user);
    task_ids.push_back(std::get<TaskCreated>(task_created.events.at(0)).task_id);
    setup_position = task_created.append.last_position();
  }

  const std::int64_t planned = std::int64_t(rate) * seconds;
  Run run;
  run.base = setup_position;
  run.commits.emplace(run.base);

  const std::int64_t rss_before_kib = proc_status_kib("VmRSS");

  // Subscribers: `connecting` at a time, the next starting when one is caught up.
  net::io_context io(client_threads);
  auto guard = net::make_work_guard(io);
  std::vector<std::shared_ptr<Subscriber>> subs;
  std::atomic<std::size_t> next_to_start{0};
  const std::string target =
      fmt::format("/v1/stream?project={}&after={}{}", to_string(project), run.base, batch ? "&batch=true" : "");
  std::function<void()> start_next = [&] {
    const auto i = next_to_start.fetch_add(1);
    if (i < subs.size()) subs[i]->start();
  };
  for (int i = 0; i < subscribers; ++i)
    subs.push_back(std::make_shared<Subscriber>(io, endpoint, target, "Bearer " + token, run, start_next));
  for (int i = 0; i < std::min(connecting, subscribers); ++i) start_next();
  std::vector<std::thread> threads;
  for (int t = 0; t < client_threads; ++t) threads.emplace_back([&io] { io.run(); });

  const auto connect_start = Clock::now();
  while (run.caught_up.load() < subscribers && Clock::now() - connect_start < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double connect_s = std::chrono::duration<double>(Clock::now() - connect_start).count();
  const int connected = run.caught_up.load() - run.setup_failed.load();
  std::cerr << fmt::format("{} of {} subscribers caught up in {:.2f} s; {} failed\n", connected, subscribers,
                           connect_s, run.failed.load());
  if (!run.first_error.empty()) std::cerr << "  first error: " << run.first_error << "\n";
  const std::int64_t rss_connected_kib = proc_status_kib("VmRSS");

  // The writer, paced: event i is sent at start + i / rate; its commit time is recorded by position.
  std::atomic<std::int64_t> appended{0};
  std::atomic<std::int64_t> write_failures{0};
  std::atomic<std::int64_t> last_position{0};
  std::atomic<std::int64_t> in_flight{0};
  const auto write_start = Clock::now();
  for (std::int64_t i = 0; i < planned; ++i) {
    std::this_thread::sleep_until(write_start + std::chrono::nanoseconds(i * 1'000'000'000 / rate));
    in_flight.fetch_add(1);
    engine.async_execute(
        AppendMessage{.task_id = task_ids[static_cast<std::size_t>(i % tasks)], .role = MessageRole::user, .content = fmt::format("message {}", i),
                      .lease_token = std::nullopt},
        user, std::nullopt, [&](std::optional<projections::CommandOutcome> outcome, std::exception_ptr error) {
          const std::int64_t at = now_ns();
          if (error || !outcome) {
            write_failures.fetch_add(1);
          } else {
            for (const auto& e : outcome->append.events) {
              if (run.commits->ours(e.position)) run.commits->record(e.position, at);
              appended.fetch_add(1);
              auto last = last_position.load();
              while (e.position > last && !last_position.compare_exchange_weak(last, e.position)) {
              }
            }
          }
          in_flight.fetch_sub(1);
        });
  }
  while (in_flight.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double write_s = std::chrono::duration<double>(Clock::now() - write_start).count();

  // Every live subscriber must reach the last position; give the stragglers up to --drain-seconds.
  const auto drain_start = Clock::now();
  const auto all_received = [&] {
    for (const auto& s : subs)
      if (s->last_position.load(std::memory_order_relaxed) < last_position.load())
        return false;
    return true;
  };
  while (!all_received() && Clock::now() - drain_start < std::chrono::seconds(drain_seconds))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();
  const std::int64_t rss_after_kib = proc_status_kib("VmRSS");
  const std::int64_t hwm_kib = proc_status_kib("VmHWM");

  guard.reset();
  io.stop();
  for (auto& t : threads) t.join();
  for (auto& s : subs) s->close();

  // Receipts that beat their commit record.
  std::size_t unresolved = 0;
  for (const auto& s : subs) {
    s->resolve(run.latency.local());
    unresolved += s->unresolved.size();
  }
  const Histogram latency = run.latency.merged();

  const std::int64_t events = appended.load();
  std::int64_t received = 0;
  std::int64_t out_of_order = 0;
  std::int64_t frames = 0;
  for (const auto& s : subs) {
    received += s->received;
    out_of_order += s->out_of_order;
    frames += s->frames;
  }
  const std::int64_t expected = events * connected;
  const std::int64_t lost = std::max<std::int64_t>(0, expected - (received - out_of_order));
  const auto server_stream = stream_metrics(endpoint);
  subs.clear();
  server.stop();

  std::cerr << fmt::format(
      "appended {} events in {:.2f} s ({:.0f}/s, {} failed); {} receipts of {} expected; lost {}; "
      "out of order or duplicate {}; the last receipt {:.2f} s after the last commit\n",
      events, write_s, double(events) / write_s, write_failures.load(), received, expected, lost, out_of_order,
      drain_s);
  std::cerr << fmt::format("{} frames with events ({:.1f} events per frame, {:.0f} frames/s over the writing); {} receipts "
                           "without a commit time\n",
                           frames, frames ? double(received) / double(frames) : 0.0, double(frames) / write_s, unresolved);
  std::cerr << "server: " << server_stream << "\n";
  if (!run.first_error.empty()) std::cerr << "first error: " << run.first_error << "\n";

  bench::report_figure(fmt::format("fanout_p99_ms@{}x{}", subscribers, rate), latency.percentile_ms(0.99));
  bench::report_figure(fmt::format("fanout_lost@{}x{}", subscribers, rate), double(lost + out_of_order));
  bench::report_figure(fmt::format("fanout_peak_rss_mib@{}x{}", subscribers, events), hwm_kib / 1024.0);
  std::cout << fmt::format(
      "fanout_bench ({}; {} subscribers on one project, {} events/s for {} s over {} tasks through a "
      "TaskEngine on the same database; in-process ApiServer: {} worker threads, I/O threads {}, wake interval {} ms; "
      "Beast WebSocket client: {} thread(s), {}; server, subscribers, writer and PostgreSQL all share this machine's {} "
      "cores)\n\n",
      bench::today(), subscribers, rate, seconds, tasks, server_workers,
      server_io_threads ? std::to_string(server_io_threads) : "one per core", wake_interval_ms, client_threads,
      batch ? "batch frames (?batch=true)" : "a frame per event",
      std::thread::hardware_concurrency());
  std::cout << "| subscribers | events/s (achieved) | events | receipts | p50 ms | p99 ms | max ms | lost | "
               "out of order / dup | RSS before MiB | RSS connected MiB | RSS after MiB | peak RSS MiB |\n";
  std::cout << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::cout << fmt::format("| {} | {:.0f} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {} | {} | {:.1f} | {:.1f} | {:.1f} | "
                           "{:.1f} |\n",
                           connected, double(events) / write_s, events, received, latency.percentile_ms(0.50),
                           latency.percentile_ms(0.99), latency.max_ms(), lost, out_of_order,
                           rss_before_kib / 1024.0, rss_connected_kib / 1024.0, rss_after_kib / 1024.0,
                           hwm_kib / 1024.0);
  std::cout << fmt::format("\nLatency: engine commit callback to the client's read of the event frame (steady clock), over "
               "every subscriber × event, in 10 µs buckets (1 ms beyond 1 s). Lost: not received {} s after the "
               "last commit. RSS is the whole process (server, client and writer; "
               "PostgreSQL is a separate process), from /proc/self/status.\n", drain_seconds);
  const bool ok = lost == 0 && out_of_order == 0 && run.failed.load() == 0 && write_failures.load() == 0 &&
                  connected == subscribers;
  if (!ok) {
    std::cerr << "fanout_bench: events lost, failed subscribers or failed appends\n";
    return 1;
  }
  return 0;
}
