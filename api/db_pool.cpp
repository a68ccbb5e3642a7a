// DbPool: exclusive leases of pqxx connections; broken connections are dropped and reopened, and
// an unreachable database is a fast DomainError(unavailable) rather than a hung worker.
#include "api/db_pool.hpp"

#include "core/error.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <vector>

namespace tasklog::api {
namespace {

// libpq waits for a TCP connect as long as the kernel does (minutes) unless told otherwise; a
// worker stuck there cannot answer 503. Only added when the caller did not choose a value.
std::string with_connect_timeout(std::string conninfo) {
  if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
  const bool url = conninfo.rfind("postgresql://", 0) == 0 || conninfo.rfind("postgres://", 0) == 0;
  if (!url) return conninfo.empty() ? "connect_timeout=2" : conninfo + " connect_timeout=2";
  const auto fragment = conninfo.find('#');
  const std::string tail = fragment == std::string::npos ? "" : conninfo.substr(fragment);
  if (fragment != std::string::npos) conninfo.resize(fragment);
  conninfo += conninfo.find('?') == std::string::npos ? "?connect_timeout=2" : "&connect_timeout=2";
  return conninfo + tail;
}

// An idle connection never has anything to read: we do not LISTEN on pooled connections, so
// readable data or a hang-up means the server said goodbye (shutdown, restart, terminated
// backend). Checking costs one poll() and spares the next request a 503 after PostgreSQL returns.
bool looks_alive(pqxx::connection& c) {
  if (!c.is_open()) return false;
  pollfd fd{};
  fd.fd = c.sock();
  fd.events = POLLIN;
  if (fd.fd < 0) return false;
  const int ready = ::poll(&fd, 1, 0);
  return ready == 0;
}

}  // namespace

struct DbPool::Impl {
  std::string conninfo;
  std::string connect_conninfo;
  std::size_t size;
  std::chrono::milliseconds acquire_timeout;

  mutable std::mutex mutex;
  std::condition_variable freed;
  std::vector<std::unique_ptr<pqxx::connection>> idle;  // guarded by mutex
  std::size_t open = 0;                                  // idle + in use + being opened
  std::size_t in_use = 0;
  std::size_t waiting = 0;

  std::unique_ptr<pqxx::connection> connect() {
    try {
      auto c = std::make_unique<pqxx::connection>(connect_conninfo);
      // No JIT for request reads: PostgreSQL compiles a statement whose estimated cost passes
      // jit_above_cost on every execution, and the statistics of a log with one large project
      // put the project context's estimate there (tasks by project: 32,833 rows estimated, 50
      // read): 78 functions compiled per read, 51 % of PostgreSQL's time and 0.6 s a read on two
      // cores. These statements read a handful of rows; compiling never pays for itself.
      // set_variable, not a SET of our own: libpqxx restores it when it reconnects the connection.
      c->set_variable("jit", "off");
      return c;
    } catch (const std::exception& e) {
      // libpq's reason names the host or the socket's path: for the operator's log, not for an
      // answer that unauthenticated probes (/readyz) read too.
      spdlog::warn("database connection failed: {}", e.what());
      throw DomainError(ErrorCode::unavailable, "the database cannot be reached (the server's log says why)");
    }
  }

  // Called by a Lease's destructor.
  void give_back(std::unique_ptr<pqxx::connection> c) {
    // A connection that broke while leased is closed rather than reused.
    const bool reusable = c && c->is_open();
    {
      std::lock_guard lock(mutex);
      --in_use;
      if (reusable) {
        idle.push_back(std::move(c));
      } else {
        --open;
      }
    }
    freed.notify_one();
    c.reset();  // outside the lock: closing a connection is a round trip
  }
};

struct DbPool::Lease::State {
  std::shared_ptr<DbPool::Impl> pool;
  std::unique_ptr<pqxx::connection> connection;
};

DbPool::Lease::Lease(std::unique_ptr<State> state) : state_(std::move(state)) {}
DbPool::Lease::Lease(Lease&&) noexcept = default;
DbPool::Lease& DbPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Lease old(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}
DbPool::Lease::~Lease() {
  if (state_ && state_->pool) state_->pool->give_back(std::move(state_->connection));
}
pqxx::connection& DbPool::Lease::operator*() const { return *state_->connection; }
pqxx::connection* DbPool::Lease::operator->() const { return state_->connection.get(); }

DbPool::DbPool(std::string conninfo, std::size_t size, std::chrono::milliseconds acquire_timeout)
    : impl_(std::make_shared<Impl>()) {
  impl_->connect_conninfo = with_connect_timeout(conninfo);
  impl_->conninfo = std::move(conninfo);
  impl_->size = std::max<std::size_t>(size, 1);
  impl_->acquire_timeout = acquire_timeout;
}

DbPool::~DbPool() = default;

DbPool::Lease DbPool::acquire() {
  auto& p = *impl_;
  std::unique_lock lock(p.mutex);
  const auto deadline = std::chrono::steady_clock::now() + p.acquire_timeout;
  for (;;) {
    while (!p.idle.empty()) {
      auto c = std::move(p.idle.back());
      p.idle.pop_back();
      if (looks_alive(*c)) {
        ++p.in_use;
        return Lease(std::make_unique<Lease::State>(Lease::State{impl_, std::move(c)}));
      }
      --p.open;
      lock.unlock();
      c.reset();
      lock.lock();
    }
    if (p.open < p.size) {
      // Reserve the slot, then connect without the lock: other workers keep getting connections.
      ++p.open;
      ++p.in_use;
      lock.unlock();
      try {
        auto c = p.connect();
        return Lease(std::make_unique<Lease::State>(Lease::State{impl_, std::move(c)}));
      } catch (...) {
        lock.lock();
        --p.open;
        --p.in_use;
        lock.unlock();
        p.freed.notify_one();
        throw;
      }
    }
    ++p.waiting;
    const bool woke = p.freed.wait_until(lock, deadline, [&] { return !p.idle.empty() || p.open < p.size; });
    --p.waiting;
    if (!woke) {
      throw DomainError(ErrorCode::unavailable,
                        "no database connection became free within " + std::to_string(p.acquire_timeout.count()) + " ms");
    }
  }
}

DbPoolStats DbPool::stats() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->size, impl_->open, impl_->in_use, impl_->waiting};
}

const std::string& DbPool::conninfo() const { return impl_->conninfo; }

}  // namespace tasklog::api
