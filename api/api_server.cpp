// ApiServer: the Beast listener and HTTP sessions, the worker pool that runs handlers, and the
// services they use. Shape of the Beast async server examples: an acceptor hands every socket its
// own strand; a session reads one request, hands it to a worker, writes the response, and only
// then reads the next one — so pipelined requests (already in the session's flat_buffer) are
// answered in order with one write in flight. An upgrade request for GET /v1/stream is
// authenticated on a worker and its socket moved into a WebSocket session (api/stream_session).
#include "api/api_server.hpp"

#include "api/http_exchange.hpp"
#include "api/router.hpp"
#include "api/services.hpp"
#include "api/stream_hub.hpp"
#include "api/stream_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <stdexcept>
#include <mutex>
#include <thread>
#include <vector>

namespace tasklog::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// After an error response that ends the connection (413, 400 on a framing error), the client may
// still be sending the body: closing at once would reset the connection and could destroy the
// response before the client reads it. Half-close, then read and discard for this long at most.
constexpr auto kLingerTimeout = 2s;

class Session;

// Everything the sessions share. Thread-safety: the registry under its mutex; the rest is either
// immutable after start() or thread-safe itself.
class Server {
 public:
  explicit Server(ApiServerOptions options);
  ~Server();

  void start();
  void stop();
  tcp::endpoint endpoint() const { return endpoint_; }

  // For sessions.
  const ApiServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  net::thread_pool& workers() { return workers_; }
  DbPool& pool() { return pool_; }
  Metrics& metrics() { return metrics_; }
  StreamContext stream_context() { return StreamContext{*hub_, pool_, workers_, stream_checks_}; }
  void handle(std::shared_ptr<const Request> request, net::any_io_executor where, std::function<void(Response)> done);
  bool never_blocks(const Request& request) const { return router_.never_blocks(request); }
  void add_session(std::uint64_t id, const std::shared_ptr<Session>& session);
  void remove_session(std::uint64_t id);

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void teardown_services();

  ApiServerOptions options_;
  DbPool pool_;
  TaskReads task_reads_;  // after the pool: its lanes lease connections from it
  TaskReads sign_ins_;    // likewise
  TaskReads stream_checks_;  // likewise
  std::unique_ptr<events::EventStore> store_;
  std::unique_ptr<projections::TaskEngine> engine_;
  std::unique_ptr<projections::LeaseReaper> reaper_;
  Metrics metrics_;
  Router router_;
  std::unique_ptr<ApiServices> services_;
  // Before the io_context: WebSocket sessions left in its queue unregister from their destructors.
  std::unique_ptr<StreamHub> hub_;

  // The registry outlives the io_context (declared before it): sessions still queued in the
  // io_context when it is destroyed unregister themselves from their destructors.
  std::mutex sessions_mutex_;
  std::condition_variable sessions_gone_;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::uint64_t next_session_id_ = 0;

  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  std::mutex stop_mutex_;

  net::io_context ioc_;
  // Destroyed before the io_context: requests abandoned in its queue by a forced stop hold
  // sessions, whose sockets belong to the io_context.
  net::thread_pool workers_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_guard_;
  tcp::acceptor acceptor_;
  tcp::endpoint endpoint_;
  std::vector<std::thread> io_threads_;
};

// One HTTP connection. Every member is touched only on the connection's strand (handlers of the
// stream run there; the worker's result is posted there).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server& server, std::uint64_t id)
      : stream_(std::move(socket)), server_(server), id_(id) {}
  ~Session() { server_.remove_session(id_); }

  void run() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::wait_for_request, shared_from_this())); }

  // The server is stopping: a connection waiting for its next request is closed now; one with a
  // request in flight finishes it (its response says Connection: close).
  void shutdown() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::idle) self->stream_.cancel();
    });
  }

 private:
  enum class Phase { idle, reading, handling, writing, closing };

  void wait_for_request() {
    if (server_.stopping()) return linger_then_close();
    phase_ = Phase::idle;
    // A pipelined request is already (partly) here.
    if (buffer_.size() > 0) return read_request();
    // The idle timeout runs until the first byte; the request timeout from then on, so a slow
    // client has request_timeout for headers and body however long it idled before.
    stream_.expires_after(server_.options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, std::size_t bytes) {
    if (ec) return close();  // idle timeout, the client left, or the server is stopping
    buffer_.commit(bytes);
    read_request();
  }

  void read_request() {
    phase_ = Phase::reading;
    parser_.emplace();
    apply_limits(*parser_, server_.options().limits);
    stream_.expires_after(server_.options().request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  // Headers first, so that a client that asks "Expect: 100-continue" (curl does for bodies over
  // 1 KiB) gets its go-ahead instead of waiting a second, and so that a declared body over the
  // limit is refused before it is sent.
  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    const auto expect = parser_->get()[http::field::expect];
    if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
      continue_ = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      return http::async_write(stream_, *continue_, [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
        self->continue_.reset();
        if (write_ec) return self->close();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read_error(beast::error_code ec) {
    if (auto error = read_error_reply(ec, server_.options().limits)) return reply_and_close(*error);
    if (ec != http::error::end_of_stream && ec != net::error::operation_aborted && ec != beast::error::timeout &&
        ec != http::error::partial_message) {
      spdlog::debug("http: read failed: {}", ec.message());
    }
    close();
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    if (is_stream_request(parser_->get())) return upgrade_to_stream();

    phase_ = Phase::handling;
    auto request = std::make_shared<Request>(parser_->release());
    parser_.reset();
    // Handlers run on a worker (they may block on the database); an asynchronous one (a command)
    // frees it at once, and its answer comes back to this connection's strand from the writer.
    // A never_blocks route's handler only hands its work on, so it runs here, on this strand.
    auto handle = [self = shared_from_this(), request] {
      self->server_.handle(request, self->stream_.get_executor(), [self, request](Response response) {
        self->write(std::move(response), request->version(), request->keep_alive() && !self->server_.stopping(),
                    request->method());
      });
    };
    if (server_.never_blocks(*request))
      handle();
    else
      net::post(server_.workers(), std::move(handle));
  }

  // Authentication needs the database, so it runs on a worker; a refusal (401, 400) is an
  // ordinary response that closes the connection, an acceptance hands the socket over.
  void upgrade_to_stream() {
    phase_ = Phase::handling;
    auto request = std::make_shared<Request>(parser_->release());
    parser_.reset();
    const auto started = std::chrono::steady_clock::now();
    net::post(server_.workers(), [self = shared_from_this(), request, started] {
      auto admission = std::make_shared<std::variant<Response, StreamGrant>>(admit_stream(*request, self->server_.pool()));
      net::post(self->stream_.get_executor(), [self, request, started, admission] {
        auto& metrics = self->server_.metrics();
        if (auto* refused = std::get_if<Response>(admission.get())) {
          metrics.observe_request("/v1/stream", refused->result_int(), std::chrono::steady_clock::now() - started);
          return self->write(std::move(*refused), request->version(), false);
        }
        if (self->server_.stopping()) {
          return self->write(error_response(DomainError(ErrorCode::unavailable, "the server is shutting down")),
                             request->version(), false);
        }
        metrics.observe_request("/v1/stream", 101, std::chrono::steady_clock::now() - started);
        self->phase_ = Phase::closing;  // the socket belongs to the WebSocket session from here
        start_stream_session(self->stream_.release_socket(), std::move(*request),
                             std::move(std::get<StreamGrant>(*admission)), self->server_.stream_context());
      });
    });
  }

  void reply_and_close(const DomainError& error) {
    parser_.reset();
    write(error_response(error), 11, false);
  }

  void write(Response response, unsigned version, bool keep_alive, http::verb method = http::verb::get) {
    phase_ = Phase::writing;
    finish_response(response, version, keep_alive, method);
    response_ = std::make_shared<Response>(std::move(response));
    // A client that does not read its response is a slow client too.
    stream_.expires_after(server_.options().request_timeout);
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this(), !keep_alive));
  }

  void on_write(bool close_after, beast::error_code ec, std::size_t) {
    response_.reset();
    if (ec) return close();
    if (close_after) return linger_then_close();
    wait_for_request();
  }

  void linger_then_close() {
    phase_ = Phase::closing;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void close() {
    phase_ = Phase::closing;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;  // alive until its write completes
  std::shared_ptr<http::response<http::empty_body>> continue_;  // the interim 100, while written
  std::array<char, 4096> discard_{};
  Server& server_;
  std::uint64_t id_;
  Phase phase_ = Phase::idle;
};

unsigned io_thread_count(unsigned asked) {
  if (asked > 0) return asked;
  return std::max(1u, std::thread::hardware_concurrency());
}

Server::Server(ApiServerOptions options)
    : options_(std::move(options)),
      // A connection for every worker and every lane (task reads, sign-ins, stream checks): a lane
      // must not wait behind workers that each hold one (their reads would fail with 503 after the
      // pool's timeout).
      pool_(options_.conninfo, std::max(1u, options_.worker_threads) + options_.task_reads.lane_count() +
                                   options_.sign_ins.lane_count() + options_.stream_checks.lane_count()),
      task_reads_(pool_, options_.task_reads),
      sign_ins_(pool_, options_.sign_ins),
      stream_checks_(pool_, options_.stream_checks),
      store_(std::make_unique<events::EventStore>(projections::engine_store_options(options_.conninfo))),
      engine_(std::make_unique<projections::TaskEngine>(*store_)),
      ioc_(static_cast<int>(io_thread_count(options_.io_threads))),
      workers_(std::max(1u, options_.worker_threads)),
      acceptor_(net::make_strand(ioc_)) {
  if (options_.run_reaper) {
    projections::LeaseReaperOptions reaper_options;
    reaper_options.conninfo = options_.conninfo;
    reaper_ = std::make_unique<projections::LeaseReaper>(*engine_, std::move(reaper_options));
  }
  services_ = std::make_unique<ApiServices>(ApiServices{pool_, *engine_, *store_, metrics_, task_reads_, sign_ins_, reaper_.get(), options_.limits});
  hub_ = std::make_unique<StreamHub>(options_.conninfo, options_.stream);
  metrics_.add_collector([hub = hub_.get()] { return hub->metrics_text(); });
  add_server_routes(router_);
  if (options_.extra_routes) options_.extra_routes(router_);
}

Server::~Server() { stop(); }

void Server::start() {
  std::lock_guard lock(stop_mutex_);
  if (started_ || stopped_) return;
  acceptor_.open(options_.listen.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  boost::system::error_code bound;
  acceptor_.bind(options_.listen, bound);
  if (bound)  // Asio's own text ("bind: Address already in use") names neither the address nor a way out
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {} (another process uses it? choose one with --listen)",
                                         options_.listen.address().to_string(), options_.listen.port(),
                                         bound.message()));
  acceptor_.listen(net::socket_base::max_listen_connections);
  endpoint_ = acceptor_.local_endpoint();
  hub_->start();
  if (reaper_) reaper_->start();
  work_guard_.emplace(ioc_.get_executor());
  do_accept();
  const unsigned n = io_thread_count(options_.io_threads);
  for (unsigned i = 0; i < n; ++i) {
    io_threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          // A handler that throws is a bug; log it and keep serving the other connections.
          spdlog::error("http: unexpected exception on an I/O thread: {}", e.what());
        }
      }
    });
  }
  started_ = true;
}

void Server::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Server::on_accept, this));
}

void Server::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // E.g. out of file descriptors: the connection is lost, the listener is not.
    spdlog::warn("http: accept failed: {}", ec.message());
  } else if (!stopping()) {
    std::uint64_t id = 0;
    {
      std::lock_guard lock(sessions_mutex_);
      id = next_session_id_++;
    }
    auto session = std::make_shared<Session>(std::move(socket), *this, id);
    add_session(id, session);
    session->run();
  }
  do_accept();
}

void Server::add_session(std::uint64_t id, const std::shared_ptr<Session>& session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.emplace(id, session);
}

void Server::remove_session(std::uint64_t id) {
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(id);
  }
  sessions_gone_.notify_all();
}

void Server::handle(std::shared_ptr<const Request> request, net::any_io_executor where,
                    std::function<void(Response)> done) {
  handle_request_async(router_, *services_, std::move(request), std::move(where), std::move(done));
}

void Server::stop() {
  std::lock_guard lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  if (started_) {
    stopping_ = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard sessions_lock(sessions_mutex_);
      for (auto& [id, weak] : sessions_)
        if (auto session = weak.lock()) live.push_back(std::move(session));
    }
    for (auto& session : live) session->shutdown();
    live.clear();  // our references must not keep the sessions (and the wait below) alive
    hub_->go_away_all();  // WebSocket sessions: close 1001 going away

    const auto deadline = std::chrono::steady_clock::now() + options_.shutdown_timeout;
    bool drained = false;
    {
      std::unique_lock sessions_lock(sessions_mutex_);
      drained = sessions_gone_.wait_until(sessions_lock, deadline, [&] { return sessions_.empty(); });
    }
    drained = hub_->wait_for_no_listeners(deadline) && drained;
    if (!drained) spdlog::warn("http: requests still running after {} s; closing them", options_.shutdown_timeout.count());
    work_guard_.reset();
    if (!drained) ioc_.stop();
    for (auto& thread : io_threads_) thread.join();
    io_threads_.clear();
    if (!drained) workers_.stop();  // queued requests are abandoned; running handlers finish
    workers_.join();
  } else {
    workers_.join();
  }
  hub_->stop();  // after the sessions: nothing is woken any more
  teardown_services();
}

void Server::teardown_services() {
  if (reaper_) reaper_->stop();
  task_reads_.stop();
  sign_ins_.stop();
  stream_checks_.stop();
  // Commands a handler queued are answered before the writer stops (the store flushes).
  if (store_) store_->stop();
}

}  // namespace

struct ApiServer::Impl {
  explicit Impl(ApiServerOptions options) : server(std::move(options)) {}
  Server server;
};

ApiServer::ApiServer(ApiServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
ApiServer::~ApiServer() = default;

void ApiServer::start() { impl_->server.start(); }
void ApiServer::stop() { impl_->server.stop(); }
tcp::endpoint ApiServer::endpoint() const { return impl_->server.endpoint(); }

}  // namespace tasklog::api
