// Classic-era MCP sessions: initialize issues an Mcp-Session-Id, later requests name it, DELETE
// ends it. A session belongs to the user that opened it (another user's id answers like an
// unknown one) and remembers the negotiated protocol version.
//
// Sessions live in this process's memory: they carry no state a client could lose except the
// version, so a restarted or other process answers 404 and the client initializes again, as
// Streamable HTTP prescribes. Bounded: idle sessions expire; a user past their own cap loses their
// own least recently used session, and past the store's cap the least recently used one of the
// user holding the most goes — so one user opening sessions in a loop (clients rarely DELETE)
// ends only their own, never another user's live ones.
//
// Thread-safety: every member may be called from any number of threads.
#pragma once

#include "core/ids.hpp"

#include <boost/functional/hash.hpp>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tasklog::api::mcp {

class SessionStore {
 public:
  explicit SessionStore(std::size_t max_sessions = 10000, std::chrono::seconds idle_timeout = std::chrono::hours(24),
                        std::size_t max_per_user = 256)
      : max_sessions_(max_sessions), max_per_user_(max_per_user), idle_timeout_(idle_timeout) {}

  // A new session id (random, 128 bits) for `user` at `version`.
  std::string open(const Uuid& user, std::string_view version);
  // The session's protocol version, when it exists, is live and belongs to `user`; touches it.
  std::optional<std::string> version_of(std::string_view session_id, const Uuid& user);
  // Ends the session; false when there was none for this user.
  bool close(std::string_view session_id, const Uuid& user);

 private:
  struct Session {
    Uuid user{};
    std::string version{};
    std::chrono::steady_clock::time_point last_used{};
  };
  void evict_locked(const Uuid& user, std::chrono::steady_clock::time_point now);
  void erase_locked(std::unordered_map<std::string, Session>::iterator it);
  bool expired(const Session& session, std::chrono::steady_clock::time_point now) const {
    return now - session.last_used > idle_timeout_;
  }

  std::size_t max_sessions_;
  std::size_t max_per_user_;
  std::chrono::seconds idle_timeout_;
  std::mutex mutex_;
  std::unordered_map<std::string, Session> sessions_;
  std::unordered_map<Uuid, std::size_t, boost::hash<Uuid>> per_user_;  // sessions_ counted by user
};

}  // namespace tasklog::api::mcp
