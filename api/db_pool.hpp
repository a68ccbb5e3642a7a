// DbPool: a fixed set of PostgreSQL connections shared by the request workers.
//
// acquire() hands out a connection for exclusive use until the Lease is destroyed. A connection
// found broken is dropped and reopened on the next acquire; while the database cannot be reached
// acquire() throws DomainError(unavailable) (HTTP 503) quickly instead of hanging, and the pool
// recovers by itself when the database returns.
//
// Connections are opened as the login user with no role switched; callers that need the
// application role or row-level security switch per transaction (see api/auth.hpp as_user).
//
// Thread-safety: acquire() and stats() from any thread.
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace tasklog::api {

struct DbPoolStats {
  std::size_t size = 0;     // configured maximum
  std::size_t open = 0;     // connections currently open
  std::size_t in_use = 0;   // handed out right now
  std::size_t waiting = 0;  // acquire() calls waiting for a free connection
};

class DbPool {
 public:
  DbPool(std::string conninfo, std::size_t size, std::chrono::milliseconds acquire_timeout = std::chrono::seconds(5));
  ~DbPool();
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;

  class Lease {
   public:
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) noexcept;
    ~Lease();  // returns the connection (or discards it when it is broken)
    pqxx::connection& operator*() const;
    pqxx::connection* operator->() const;

   private:
    friend class DbPool;
    struct State;
    explicit Lease(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
  };

  // Throws DomainError(unavailable) when no connection can be opened or none frees up in time.
  Lease acquire();
  DbPoolStats stats() const;
  const std::string& conninfo() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tasklog::api
