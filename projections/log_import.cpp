#include "projections/log_import.hpp"

#include "core/time.hpp"
#include "events/canonical.hpp"
#include "events/database.hpp"
#include "events/event_json.hpp"
#include "events/event_reader.hpp"
#include "projections/event_fold.hpp"
#include "projections/fold.hpp"
#include "projections/read_model_store.hpp"
#include "projections/read_model_tables.hpp"

#include <fmt/format.h>

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace tasklog::projections {
namespace {

struct UuidHash {
  std::size_t operator()(const Uuid& id) const noexcept {
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(id.data), sizeof id.data));
  }
};

// The checks that tie one line to the lines before it.
class ChainCheck {
 public:
  void check(std::uint64_t line, const events::RecordedEvent& e) {
    const events::Position expected = head_ + 1;
    if (e.position != expected) {
      if (line == 1)
        throw ImportRefused(line, fmt::format("the log starts at position {}: an import needs the whole log from "
                                              "position 1 (an export with --project or --from is a partial log)",
                                              e.position));
      throw ImportRefused(line, fmt::format("position {} follows position {}: positions must be consecutive (an "
                                            "export with --project is a partial log)",
                                            e.position, head_));
    }
    if (e.prev_hash != prev_)
      throw ImportRefused(line, line == 1 ? "prev_hash of the first event is not 32 zero bytes"
                                          : "prev_hash is not the hash of the line before: the chain is broken");
    if (events::chain_hash(prev_, e) != e.hash)
      throw ImportRefused(line, "the hash does not match the event's content: the line was changed after export");
    // The writer never lets time go back along the log, and replay --at TIME relies on it (the
    // state at a time is a prefix of the log). A chain re-hashed after its times were changed
    // would pass the checks above.
    if (line > 1 && e.recorded_at < recorded_)
      throw ImportRefused(line, fmt::format("recorded_at goes back from {} to {}: time never decreases along the log",
                                            format_timestamp(recorded_), format_timestamp(e.recorded_at)));
    recorded_ = e.recorded_at;
    if (!event_ids_.insert(e.event_id).second)
      throw ImportRefused(line, fmt::format("event id {} appears twice", to_string(e.event_id)));
    std::int64_t& version = versions_[e.stream_id];
    if (e.version != version + 1)
      throw ImportRefused(line, fmt::format("stream {} goes from version {} to {}: versions must be consecutive",
                                            to_string(e.stream_id), version, e.version));
    version = e.version;
    head_ = e.position;
    prev_ = e.hash;
  }

  events::Position head() const { return head_; }
  const Sha256Digest& head_hash() const { return prev_; }

 private:
  events::Position head_ = 0;
  Sha256Digest prev_ = events::kGenesisHash;
  Timestamp recorded_{};
  std::unordered_set<Uuid, UuidHash> event_ids_;
  std::unordered_map<Uuid, std::int64_t, UuidHash> versions_;
};

void refuse_unless_empty(pqxx::transaction_base& tx) {
  if (const events::Position head = events::EventReader(tx).head(); head != 0)
    throw ImportRefused(0, fmt::format("the database already holds {} events: an import goes into an empty database "
                                       "only (make one with `tasklog migrate`)",
                                       head));
  // Every read-model table: they have no foreign keys between them, so a leftover artifact or
  // member row would otherwise survive beside the import (or collide with it).
  std::string sql = "SELECT 0";
  for (const std::string_view table : tables::all_table_names())
    sql += fmt::format(" + (SELECT count(*) FROM {}.{})", kReadSchema, table);
  const auto rows = tx.exec(sql)[0][0].as<std::int64_t>();
  if (rows != 0)
    throw ImportRefused(0, "the event log is empty but the read models are not: an import goes into an empty database "
                           "only");
}

}  // namespace

ImportRefused::ImportRefused(std::uint64_t line, const std::string& why)
    : std::runtime_error(line == 0 ? why : fmt::format("line {}: {}", line, why)), line_(line) {}

ImportReport import_log(pqxx::connection_base& connection, std::istream& input, const ImportOptions& options) {
  pqxx::work tx(connection, "import");
  // Under the append lock: no server appends between the emptiness check and the commit.
  tx.exec(events::append_lock_sql());
  refuse_unless_empty(tx);

  ChainCheck chain;
  ProjectModels models;
  ImportProgress progress;
  rapidjson::StringBuffer rows;
  rapidjson::Writer<rapidjson::StringBuffer> writer(rows);
  std::size_t pending = 0;
  auto flush = [&] {
    if (pending == 0) return;
    writer.EndArray();
    tx.exec(events::insert_events_sql(tx, {rows.GetString(), rows.GetSize()}));
    rows.Clear();
    writer.Reset(rows);
    pending = 0;
    progress.position = chain.head();
    if (options.progress) options.progress(progress);
  };

  std::string line;
  std::uint64_t line_number = 0;
  while (std::getline(input, line)) {
    ++line_number;
    progress.bytes += line.size() + 1;
    if (line.empty()) throw ImportRefused(line_number, "an empty line: every line holds one event");
    events::RecordedEvent event;
    try {
      event = events::parse_event_json_line(line);
    } catch (const events::EventJsonError& e) {
      throw ImportRefused(line_number, e.what());
    }
    chain.check(line_number, event);
    DomainEvent decoded;
    try {
      decoded = decode_recorded(event);
    } catch (const std::exception& e) {
      throw ImportRefused(line_number, fmt::format("this tasklog cannot fold the event: {}", e.what()));
    }
    // The row's columns must say where its payload puts it: import folds by the payload, verify and
    // rebuild by the columns, and an import that verify then fails must not be accepted.
    const EventRoute where = route(decoded);
    if (where.stream_id != event.stream_id || stream_type_name(where.stream_type) != event.stream_type ||
        where.project_id != event.project_id || where.task_id != event.task_id)
      throw ImportRefused(line_number, "the event's stream, project or task columns disagree with its payload");
    fold(models, decoded, meta_of(event));
    if (pending == 0) writer.StartArray();
    events::write_event_json(writer, event);
    if (++pending == options.batch) flush();
  }
  if (input.bad()) throw std::runtime_error("reading the input failed");
  if (line_number == 0) throw ImportRefused(0, "the input holds no events");
  flush();

  try {
    write_all(tx, kReadSchema, models);
  } catch (const FoldError& e) {
    // Positions are line numbers here (the chain check saw to it).
    throw ImportRefused(std::uint64_t(e.position()), e.what());
  }
  // The wake-up an append sends: listening servers re-read from their cursors and see the log.
  // The payload is a number, formatted as a literal: quote() and `"'" + std::string` inline a copy
  // that GCC 12 at -O3 flags with a false -Wrestrict (as in events/event_store.cpp).
  tx.exec(events::notify_sql(fmt::format("'{}'", chain.head())));
  tx.commit();
  return ImportReport{.head = chain.head(), .head_hash = chain.head_hash(), .projects = models.size()};
}

}  // namespace tasklog::projections
