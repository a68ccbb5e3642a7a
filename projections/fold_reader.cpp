#include "projections/fold_reader.hpp"

#include <stdexcept>
#include <string_view>

namespace tasklog::projections {
namespace {

Uuid uuid_of(const pqxx::field& f) {
  const auto id = parse_uuid(std::string_view(f.c_str(), f.size()));
  if (!id) throw std::runtime_error("events row holds a malformed uuid: " + std::string(f.c_str()));
  return *id;
}

}  // namespace

FoldReader::FoldReader(pqxx::transaction_base& tx) : tx_(tx) {
  // recorded_at as integer microseconds, as events::EventReader reads it: nothing re-rounded.
  tx.conn().prepare("tasklog_fold_range",
                    "SELECT position, stream_id, version, project_id, task_id, actor_id, type, schema_version, "
                    "payload::text, (extract(epoch FROM recorded_at) * 1000000)::bigint, stream_type "
                    "FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3");
}

std::vector<events::RecordedEvent> FoldReader::range(events::Position after, events::Position up_to, std::size_t limit) {
  const auto rows = tx_.exec_prepared("tasklog_fold_range", after, up_to, limit);
  std::vector<events::RecordedEvent> out(rows.size());
  for (pqxx::result::size_type i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    auto& e = out[i];
    e.position = row[0].as<events::Position>();
    e.stream_id = uuid_of(row[1]);
    e.version = row[2].as<std::int64_t>();
    e.project_id = uuid_of(row[3]);
    if (!row[4].is_null()) e.task_id = uuid_of(row[4]);
    e.actor_id = uuid_of(row[5]);
    e.type.assign(row[6].c_str(), row[6].size());
    e.schema_version = row[7].as<std::int16_t>();
    e.payload.assign(row[8].c_str(), row[8].size());
    e.recorded_at = events::Timestamp(std::chrono::microseconds(row[9].as<std::int64_t>()));
    e.stream_type.assign(row[10].c_str(), row[10].size());
  }
  return out;
}

}  // namespace tasklog::projections
