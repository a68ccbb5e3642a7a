#include "events/event_reader.hpp"

#include "events/database.hpp"
#include "events/event_rows.hpp"

namespace tasklog::events {
namespace {

const std::string kSelect = std::string("SELECT ") + kEventColumns + " FROM events ";

// A scope page (scope_page_sql) cut at a byte budget ($4): the page's text columns are computed
// once, in the inner query (its LIMIT keeps it from being merged into the outer ones), a running
// sum of their sizes keeps the rows that start within the budget, and page_rows counts the page
// before the cut. The columns are kEventColumns' in its order, then page_rows.
std::string sized_page_sql(std::string_view column) {
  return "SELECT position, event_id, stream_id, stream_type, version, project_id, task_id, actor_id, type, "
         "schema_version, payload, metadata, recorded_us, prev_hash, hash, page_rows FROM ("
         "SELECT page.*, sum(octet_length(payload) + octet_length(metadata)) OVER (ORDER BY " +
         std::string(column) + ", position) AS through, "
         "count(*) OVER () AS page_rows FROM ("
         "SELECT position, event_id, stream_id, stream_type, version, project_id, task_id, actor_id, type, "
         "schema_version, payload::text AS payload, metadata::text AS metadata, "
         "(extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_us, prev_hash, hash FROM events WHERE " +
         scope_page_sql("", column, "$1::uuid", "$2", "$3") +
         ") page) sized WHERE through - octet_length(payload) - octet_length(metadata) < $4 ORDER BY position";
}

void prepare_all(pqxx::connection_base& c) {
  // prepare() of an existing name with the same text is a no-op; statements are prepared on the
  // server lazily, at first use on each connection.
  c.prepare("tasklog_read_stream", kSelect + "WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3");
  c.prepare("tasklog_read_after", kSelect + "WHERE position > $1 ORDER BY position LIMIT $2");
  // A project's or a task's page as a range of its index whatever the plan (the stream's catch-up
  // reads these on pooled connections, as the reading user): database.hpp scope_page_sql.
  c.prepare("tasklog_read_project", kSelect + "WHERE " + scope_page_sql("", "project_id", "$1::uuid", "$2", "$3"));
  c.prepare("tasklog_read_task", kSelect + "WHERE " + scope_page_sql("", "task_id", "$1::uuid", "$2", "$3"));
  c.prepare("tasklog_read_project_sized", sized_page_sql("project_id"));
  c.prepare("tasklog_read_task_sized", sized_page_sql("task_id"));
  c.prepare("tasklog_read_range", kSelect + "WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3");
  c.prepare("tasklog_read_head", "SELECT coalesce(max(position), 0) FROM events");
  // Two statements rather than `$1 IS NULL OR project_id = $1`, which no generic plan can answer
  // from the project's index. (`events tail` runs it once per connection, so it is planned for the
  // id it is given either way; a statement run again and again on pooled connections needs the
  // shape of scope_page_sql.)
  c.prepare("tasklog_read_before_last",
            "SELECT coalesce(min(position) - 1, 0) FROM (SELECT position FROM events "
            "ORDER BY position DESC LIMIT $1) t");
  c.prepare("tasklog_read_before_last_of_project",
            "SELECT coalesce(min(position) - 1, 0) FROM (SELECT position FROM events "
            "WHERE project_id = $1 ORDER BY position DESC LIMIT $2) t");
  c.prepare("tasklog_read_at_time",
            "SELECT coalesce(max(position), 0) FROM events "
            "WHERE recorded_at <= 'epoch'::timestamptz + $1::bigint * interval '1 microsecond'");
}

}  // namespace

EventReader::EventReader(pqxx::transaction_base& tx) : tx_(tx) { prepare_all(tx.conn()); }

std::vector<RecordedEvent> EventReader::rows(const pqxx::result& r) {
  std::vector<RecordedEvent> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(event_from_row(row));
  return out;
}

std::vector<RecordedEvent> EventReader::stream(const Uuid& stream_id, std::int64_t from_version, std::size_t limit) {
  return rows(tx_.exec_prepared("tasklog_read_stream", to_string(stream_id), from_version, limit));
}

std::vector<RecordedEvent> EventReader::after(Position after, std::size_t limit) {
  return rows(tx_.exec_prepared("tasklog_read_after", after, limit));
}

std::vector<RecordedEvent> EventReader::project_after(const Uuid& project_id, Position after, std::size_t limit) {
  return rows(tx_.exec_prepared("tasklog_read_project", to_string(project_id), after, limit));
}

EventReader::Page EventReader::page(const char* statement, const Uuid& id, Position after, std::size_t limit,
                                    std::size_t max_bytes) {
  const pqxx::result r = tx_.exec_prepared(statement, to_string(id), after, limit, max_bytes);
  Page p;
  p.events = rows(r);
  const std::size_t page_rows = r.empty() ? 0 : r[0][15].as<std::size_t>();
  p.more = page_rows == limit || p.events.size() < page_rows;
  return p;
}

EventReader::Page EventReader::project_page(const Uuid& project_id, Position after, std::size_t limit,
                                            std::size_t max_bytes) {
  return page("tasklog_read_project_sized", project_id, after, limit, max_bytes);
}

EventReader::Page EventReader::task_page(const Uuid& task_id, Position after, std::size_t limit, std::size_t max_bytes) {
  return page("tasklog_read_task_sized", task_id, after, limit, max_bytes);
}

std::vector<RecordedEvent> EventReader::task_after(const Uuid& task_id, Position after, std::size_t limit) {
  return rows(tx_.exec_prepared("tasklog_read_task", to_string(task_id), after, limit));
}

std::vector<RecordedEvent> EventReader::range(Position after, Position up_to, std::size_t limit) {
  return rows(tx_.exec_prepared("tasklog_read_range", after, up_to, limit));
}

Position EventReader::head() { return tx_.exec_prepared("tasklog_read_head")[0][0].as<Position>(); }

Position EventReader::before_last(std::size_t count, const std::optional<Uuid>& project_id) {
  if (project_id) return tx_.exec_prepared("tasklog_read_before_last_of_project", to_string(*project_id), count)[0][0].as<Position>();
  return tx_.exec_prepared("tasklog_read_before_last", count)[0][0].as<Position>();
}

Position EventReader::last_at_or_before(Timestamp t) {
  return tx_.exec_prepared("tasklog_read_at_time", std::int64_t(t.time_since_epoch().count()))[0][0].as<Position>();
}

}  // namespace tasklog::events
