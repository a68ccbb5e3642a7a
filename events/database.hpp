// Connections and the classification of database errors (retry only what is retryable).
#pragma once

#include <pqxx/pqxx>

#include <memory>
#include <optional>
#include <string>

namespace tasklog::events {

// Opens a connection and, when role is set, switches to it (SET ROLE) so that the grants and
// row-level security of the application role apply to everything done on it.
std::unique_ptr<pqxx::connection> open_connection(const std::string& conninfo,
                                                  const std::optional<std::string>& role);

// Serialization failure, deadlock, or a connection-class SQLSTATE: the same work may succeed
// when tried again. Everything else is final.
bool is_retryable(const pqxx::sql_error& e);

// Advisory lock keys (one namespace for the whole project, so they never collide).
inline constexpr long long kAppendLockKey = 0x7461736b6c6f6701;   // "tasklog" + 01
inline constexpr long long kMigrateLockKey = 0x7461736b6c6f6702;  // "tasklog" + 02

inline constexpr const char* kNotifyChannel = "tasklog_events";

}  // namespace tasklog::events
