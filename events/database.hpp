// Connections and the classification of database errors (retry only what is retryable).
#pragma once

#include "core/ids.hpp"

#include <pqxx/pqxx>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tasklog::events {

// `conninfo` (a postgresql:// URL or a keyword/value string) as a keyword/value string with
// client_encoding pinned to UTF8. Every text we send or read is UTF-8 (JSON, RapidJSON's
// encoding), and libpq otherwise talks the encoding the server, the database or the role defaults
// to: with ALTER DATABASE … SET client_encoding = 'LATIN1' the server would read a UTF-8 "✓" as
// three LATIN1 characters and store them converted (silently garbled), and a rebuild's COPY text
// would be read in that encoding too. The commands apply it where a conninfo enters (serve and
// every one-off command), so every connection made from it talks UTF-8.
// Throws std::invalid_argument with libpq's message when the string does not parse.
std::string utf8_conninfo(const std::string& conninfo);
// `conninfo` as a keyword/value string with `key` set to `value` (whatever it said before). Throws
// like utf8_conninfo.
std::string conninfo_with(const std::string& conninfo, std::string_view key, std::string_view value);
// The same string for a log line: without the password.
std::string loggable_conninfo(const std::string& conninfo);
// A libpq keyword/value value, always quoted (a socket directory may hold spaces).
std::string conninfo_value(std::string_view value);

// Opens a connection and, when role is set, switches to it (SET ROLE) so that the grants and
// row-level security of the application role apply to everything done on it.
std::unique_ptr<pqxx::connection> open_connection(const std::string& conninfo,
                                                  const std::optional<std::string>& role);

// Serialization failure, deadlock, or a connection-class SQLSTATE: the same work may succeed
// when tried again. Everything else is final.
bool is_retryable(const pqxx::sql_error& e);

// "{id1,id2,…}": ids as one uuid[] value (`column = ANY ($1::uuid[])`), so that a statement over
// any number of ids keeps one text and can be prepared once (exec_cached).
std::string uuid_array(const std::vector<Uuid>& ids);

// Runs a fixed statement as one prepared once per connection, named after its text. Parse, analysis
// and planning are then paid once per connection instead of on every request: the HTTP profiles
// showed them at ~40 % of PostgreSQL's CPU when every query travelled as text. Use it for statements
// whose text does not vary with the data (values go in $n parameters; a list goes in as one
// array parameter) or the connection collects a statement per variant.
// A rebuild's schema swap drops the tables a plan names; PostgreSQL then plans it again by name.
// The transaction's name is part of the statement's: the same text read under row-level security
// ("read as user") and as the server gets two statements, because PostgreSQL re-analyses a cached
// plan that row-level security shaped whenever the role it runs under changes.
inline std::string cached_statement(pqxx::transaction_base& tx, const std::string& sql) {
  std::string name = "tasklog_q_" + std::to_string(std::hash<std::string>{}(tx.name() + '\n' + sql));
  tx.conn().prepare(name, sql);  // a no-op when this connection knows it already (libpqxx compares the text)
  return name;
}

template <class... Args>
pqxx::result exec_cached(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
  return tx.exec_prepared(cached_statement(tx, sql), std::forward<Args>(args)...);
}

// Advisory lock keys (one namespace for the whole project, so they never collide).
inline constexpr long long kAppendLockKey = 0x7461736b6c6f6701;   // "tasklog" + 01
inline constexpr long long kMigrateLockKey = 0x7461736b6c6f6702;  // "tasklog" + 02

inline constexpr const char* kNotifyChannel = "tasklog_events";

// What every writer of the log runs inside its transaction, in one spelling: the append lock, and
// the wake-up of the servers that follow the log (`payload`: SQL text of the last position — a
// literal or a parameter such as "$1").
std::string append_lock_sql();
std::string notify_sql(std::string_view payload);

// The position of a project's last event (0 when it has none), as a scalar subquery; `project_id`
// is SQL text (a column such as "p.id", or a parameter "$1::uuid"). Why not `max(position) WHERE
// project_id = …`: that form lets the planner walk the log backwards by position until the
// project's last event turns up, and with one large project in the statistics it does so — for a
// small, older project that is the whole log (85,790 rows read for one context read after
// http_bench, 0.6 s each). The row comparison can only be answered by the (project_id, position)
// index, from the project's end: one index entry whatever the statistics say. The plain bound on
// project_id is for row-level security: its policy adds `project_id = ANY(visible projects)` as an
// index condition, and a backward scan starts at the end of each visible project's range, checking
// the row comparison entry by entry — through every event of a visible project whose id sorts
// above this one. Against the scalar bound those projects are dropped before the scan.
std::string project_head_sql(std::string_view project_id);

// A page of one project's or one task's events after a cursor, in position order: the WHERE
// condition, ORDER BY and LIMIT for `{prefix}{column} = id AND {prefix}position > after`, spelled as
// a range of the (column, position) index that no other plan can answer. Why: pooled connections
// settle on generic plans, in which `project_id = $1` is only "one of the projects" to the planner;
// ordered by position alone, walking the log's primary key from the cursor and filtering looked as
// cheap as the project's index, and for a small project in a log of a large one it read every
// later event (601 rows, 44 blocks for an empty page in the test). So there is no equality for the
// planner to fold away and order by position alone: the row comparison and the ORDER BY are the
// index's own columns, and the plain bounds on the id end the range scan at the id's last entry —
// read as a user, row-level security adds `project_id = ANY(visible)` and the bounds keep the scan
// out of other visible projects' entries. `id`, `after`, `limit`: SQL text (parameters).
std::string scope_page_sql(std::string_view prefix, std::string_view column, std::string_view id,
                           std::string_view after, std::string_view limit);

}  // namespace tasklog::events
