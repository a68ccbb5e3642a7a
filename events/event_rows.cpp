#include "events/event_rows.hpp"

#include <algorithm>
#include <stdexcept>

namespace tasklog::events {
namespace {

Uuid uuid_field(const pqxx::field& f) {
  const std::string_view text(f.c_str(), f.size());
  auto id = parse_uuid(text);
  if (!id) throw std::runtime_error("events row holds a malformed uuid: " + std::string(text));
  return *id;
}

Sha256Digest digest_field(const pqxx::field& f) {
  const pqxx::binarystring bytes(f);
  Sha256Digest d{};
  if (bytes.size() != d.size()) throw std::runtime_error("events row holds a hash that is not 32 bytes");
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return d;
}

}  // namespace

RecordedEvent event_from_row(const pqxx::row& row) {
  RecordedEvent e;
  e.position = row[0].as<Position>();
  e.event_id = uuid_field(row[1]);
  e.stream_id = uuid_field(row[2]);
  e.stream_type = row[3].c_str();
  e.version = row[4].as<std::int64_t>();
  e.project_id = uuid_field(row[5]);
  if (!row[6].is_null()) e.task_id = uuid_field(row[6]);
  e.actor_id = uuid_field(row[7]);
  e.type = row[8].c_str();
  e.schema_version = row[9].as<std::int16_t>();
  e.payload = row[10].c_str();
  e.metadata = row[11].c_str();
  e.recorded_at = Timestamp(std::chrono::microseconds(row[12].as<std::int64_t>()));
  e.prev_hash = digest_field(row[13]);
  e.hash = digest_field(row[14]);
  return e;
}

}  // namespace tasklog::events
