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
  evict_locked(user, now);
  sessions_.insert_or_assign(id, Session{.user = user, .version = std::string(version), .last_used = now});
  ++per_user_[user];
  return id;
}

std::optional<std::string> SessionStore::version_of(std::string_view session_id, const Uuid& user) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(std::string(session_id));
  if (it == sessions_.end() || it->second.user != user) return std::nullopt;
  if (expired(it->second, now)) {
    erase_locked(it);
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
  erase_locked(it);
  return was_live;
}

void SessionStore::erase_locked(std::unordered_map<std::string, Session>::iterator it) {
  const auto count = per_user_.find(it->second.user);
  if (count != per_user_.end() && --count->second == 0) per_user_.erase(count);
  sessions_.erase(it);
}

// Makes room for one more session of `user`. Linear, but only at a cap: expired sessions first;
// then, at the user's own cap, their least recently used one; at the store's cap, the least
// recently used one of whoever holds the most (`user` included).
void SessionStore::evict_locked(const Uuid& user, std::chrono::steady_clock::time_point now) {
  const auto mine = [&] {
    const auto it = per_user_.find(user);
    return it == per_user_.end() ? std::size_t{0} : it->second;
  };
  if (sessions_.size() < max_sessions_ && mine() < max_per_user_) return;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    if (expired(it->second, now)) erase_locked(it);
    it = next;
  }
  const auto evict_lru_of = [&](const Uuid owner) {  // a copy: its per_user_ entry may go
    auto oldest = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (it->second.user == owner && (oldest == sessions_.end() || it->second.last_used < oldest->second.last_used))
        oldest = it;
    if (oldest != sessions_.end()) erase_locked(oldest);
  };
  if (mine() >= max_per_user_) evict_lru_of(user);
  if (sessions_.size() >= max_sessions_ && !per_user_.empty()) {
    const auto most = std::max_element(per_user_.begin(), per_user_.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
    evict_lru_of(most->first);
  }
}

}  // namespace tasklog::api::mcp
