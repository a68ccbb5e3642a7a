// Classic-era MCP sessions in memory (see the header).
#include "api/mcp_sessions.hpp"

#include <boost/uuid/random_generator.hpp>

#include <algorithm>

namespace tasklog::api::mcp {

std::string SessionStore::open(const Uuid& user, std::string_view version) {
  // random_generator seeds itself from the OS; one per thread because it is not thread-safe.
  thread_local boost::uuids::random_generator generator;
  std::string id = to_string(generator());
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= max_sessions_) evict_locked(now);
  sessions_.insert_or_assign(id, Session{.user = user, .version = std::string(version), .last_used = now});
  return id;
}

std::optional<std::string> SessionStore::version_of(std::string_view session_id, const Uuid& user) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(std::string(session_id));
  if (it == sessions_.end() || it->second.user != user) return std::nullopt;
  if (expired(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second.version;
}

bool SessionStore::close(std::string_view session_id, const Uuid& user) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(std::string(session_id));
  if (it == sessions_.end() || it->second.user != user) return false;
  // An expired session is an unknown one, for DELETE as for every other request (version_of).
  const bool was_live = !expired(it->second, now);
  sessions_.erase(it);
  return was_live;
}

// Expired sessions first; if none, the least recently used one. Linear, but only at the cap.
void SessionStore::evict_locked(std::chrono::steady_clock::time_point now) {
  std::erase_if(sessions_, [&](const auto& entry) { return expired(entry.second, now); });
  if (sessions_.size() < max_sessions_ || sessions_.empty()) return;
  const auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
    return a.second.last_used < b.second.last_used;
  });
  sessions_.erase(oldest);
}

}  // namespace tasklog::api::mcp
