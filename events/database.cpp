#include "events/database.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <stdexcept>

namespace tasklog::events {
namespace {

// conninfo's options that have a value, rewritten as keyword/value pairs by libpq's own parser
// (URLs, percent-encoding, quoting), with `override` applied and the options `drop` names left out.
std::string rewrite_conninfo(const std::string& conninfo, std::string_view override_key, std::string_view override_value,
                             std::string_view drop) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (!options) {
    std::string message = error ? error : "out of memory";
    PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    throw std::invalid_argument("the database URL or conninfo does not parse: " + message);
  }
  std::string out;
  for (const PQconninfoOption* o = options; o->keyword; ++o) {
    const std::string_view keyword = o->keyword;
    if (keyword == override_key || keyword == drop || !o->val) continue;
    out += fmt::format("{}={} ", keyword, conninfo_value(o->val));
  }
  PQconninfoFree(options);
  if (!override_key.empty()) out += fmt::format("{}={}", override_key, conninfo_value(override_value));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::string utf8_conninfo(const std::string& conninfo) { return conninfo_with(conninfo, "client_encoding", "UTF8"); }

std::string conninfo_with(const std::string& conninfo, std::string_view key, std::string_view value) {
  return rewrite_conninfo(conninfo, key, value, {});
}

std::string loggable_conninfo(const std::string& conninfo) { return rewrite_conninfo(conninfo, {}, {}, "password"); }

std::string conninfo_value(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

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

std::string project_head_sql(std::string_view project_id) {
  return fmt::format(
      "coalesce((SELECT CASE WHEN e.project_id = {0} THEN e.position ELSE 0 END FROM public.events e "
      "WHERE (e.project_id, e.position) <= ({0}, 9223372036854775807) AND e.project_id <= {0} "
      "ORDER BY e.project_id DESC, e.position DESC LIMIT 1), 0)",
      project_id);
}

std::string scope_page_sql(std::string_view prefix, std::string_view column, std::string_view id,
                           std::string_view after, std::string_view limit) {
  return fmt::format("({0}{1}, {0}position) > ({2}, {3}) AND {0}{1} BETWEEN {2} AND {2} "
                     "ORDER BY {0}{1}, {0}position LIMIT {4}",
                     prefix, column, id, after, limit);
}

std::string notify_sql(std::string_view payload) {
  return fmt::format("SELECT pg_notify('{}', {})", kNotifyChannel, payload);
}

}  // namespace tasklog::events
