#include "projections/log_import.hpp"

#include "events/chain.hpp"
#include "events/database.hpp"
#include "events/event_json.hpp"
#include "events/event_reader.hpp"
#include "events/log_digest.hpp"
#include "projections/event_fold.hpp"
#include "projections/fold.hpp"
#include "projections/read_model_store.hpp"
#include "projections/read_model_tables.hpp"

#include <fmt/format.h>

#include <boost/functional/hash.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>

namespace tasklog::projections {
namespace {

// The chain's rules (events::ChainLinks, which verify applies to the table), worded for an
// export's lines; and event ids new, which the table's key sees to for verify.
class ChainCheck {
 public:
  void check(std::uint64_t line, const events::RecordedEvent& e) {
    if (auto fault = links_.follow(e)) throw ImportRefused(line, fault->reason.append(hint(line, fault->kind)));
    if (!event_ids_.insert(e.event_id).second)
      throw ImportRefused(line, fmt::format("event id {} appears twice", to_string(e.event_id)));
  }

  events::Position head() const { return links_.head(); }
  const Sha256Digest& head_hash() const { return links_.head_hash(); }

 private:
  static std::string_view hint(std::uint64_t line, events::ChainFault::Kind kind) {
    using Kind = events::ChainFault::Kind;
    switch (kind) {
      case Kind::position:
        return line == 1 ? ": an import needs the whole log from position 1 (an export with --project or --from is "
                           "a partial log)"
                         : " (an export with --project is a partial log)";
      case Kind::prev_hash: return ": the chain is broken";
      case Kind::hash: return ": the line was changed after export";
      case Kind::time:
      case Kind::version: return "";
    }
    return "";
  }

  events::ChainLinks links_;
  std::unordered_set<Uuid, boost::hash<Uuid>> event_ids_;
};

// Every line of an export is whole, so a copy cut off at a line boundary reads like a shorter
// log: only export's end line, naming the last event it wrote, tells it from the whole.
void check_end(const std::optional<events::LogDigest>& end, std::uint64_t last_line, const ChainCheck& chain,
               bool required) {
  if (!end) {
    if (required)
      throw ImportRefused(last_line, "the input ends here without the end line export writes last "
                                     "({\"end\":{\"position\",\"hash\"}}): the copy was cut off after this line, or "
                                     "is not a whole export (`import --without-end-line` takes event lines alone)");
    return;
  }
  if (end->position != chain.head() || end->hash != chain.head_hash())
    throw ImportRefused(last_line, fmt::format("the end line says the export ends at position {} (hash {}), but its "
                                               "lines end at position {} (hash {}): lines are missing, or the end "
                                               "line is another export's",
                                               end->position, to_hex(end->hash), chain.head(),
                                               to_hex(chain.head_hash())));
}

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
  std::optional<events::LogDigest> end;
  while (std::getline(input, line)) {
    ++line_number;
    progress.bytes += line.size() + 1;
    if (end) throw ImportRefused(line_number, "a line after the end line: the end line is export's last");
    if (line.empty()) throw ImportRefused(line_number, "an empty line: every line holds one event");
    try {
      if ((end = events::parse_export_end_line(line))) continue;
    } catch (const std::invalid_argument& e) {
      throw ImportRefused(line_number, e.what());
    }
    events::RecordedEvent event;
    try {
      event = events::parse_event_json_line(line);
    } catch (const events::EventJsonError& e) {
      throw ImportRefused(line_number, e.what());
    }
    chain.check(line_number, event);
    // decode() refuses what verify's and rebuild's fold would (columns that disagree with the
    // payload among it): an import that verify then fails must not be accepted.
    DecodedEvent decoded;
    try {
      decoded = decode(event);
    } catch (const FoldError& e) {
      throw ImportRefused(line_number, e.what());
    }
    fold(models, decoded.event, decoded.meta);
    if (pending == 0) writer.StartArray();
    events::write_event_json(writer, event);
    if (++pending == options.batch) flush();
  }
  if (input.bad()) throw std::runtime_error("reading the input failed");
  if (chain.head() == 0) throw ImportRefused(0, "the input holds no events");
  check_end(end, line_number, chain, options.require_end_line);
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
