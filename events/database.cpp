#include "events/database.hpp"

#include <fmt/format.h>

namespace tasklog::events {

std::unique_ptr<pqxx::connection> open_connection(const std::string& conninfo,
                                                  const std::optional<std::string>& role) {
  auto conn = std::make_unique<pqxx::connection>(conninfo);
  if (role) {
    pqxx::nontransaction tx(*conn);
    tx.exec("SET ROLE " + tx.quote_name(*role));
  }
  return conn;
}

std::string uuid_array(const std::vector<Uuid>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(',');
    out += to_string(ids[i]);  // hex and dashes: nothing to quote inside an array literal
  }
  out.push_back('}');
  return out;
}

bool is_retryable(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  return state == "40001" || state == "40P01" || state.rfind("08", 0) == 0 || state == "57P01";
}

std::string append_lock_sql() { return fmt::format("SELECT pg_advisory_xact_lock({})", kAppendLockKey); }

std::string notify_sql(std::string_view payload) {
  return fmt::format("SELECT pg_notify('{}', {})", kNotifyChannel, payload);
}

}  // namespace tasklog::events
