// log_import: a whole log, as `tasklog export` wrote it (one event_json line per event, from
// position 1), written into an empty database with every position, id and hash it had, and the
// read models built from it — in one transaction, so an import either happens whole or not at all.
//
// Every line is checked before anything is committed: it is an event object, its position follows
// the line before it (the line number is the position), its prev_hash is the hash of the line
// before, its hash is SHA-256(prev_hash || canonical bytes), its event id is new and its stream
// version follows that stream's last one, and this tasklog can fold it. The first line that fails
// refuses the whole import, naming that line; so does a line whose fold repeats a row's key (a
// message id the log has already), found when the read models are written. The last line must be
// export's end line naming the last event: every line being whole, nothing else tells a copy cut
// off at a line boundary from the whole log. A partial export (--project, --from, --to) does not
// start at position 1 or skips positions, so it is refused as such.
//
// Runs under the append lock (no server can append meanwhile) as the read models' owner (the
// migration role or a superuser), like rebuild. Inserting is all the event log's trigger allows
// anyway: an import changes no row. Commits with the NOTIFY an append sends, so running servers'
// timelines pick the imported events up.
#pragma once

#include "events/event.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <functional>
#include <istream>
#include <stdexcept>

namespace tasklog::projections {

// Why an import was refused; line() is the input line at fault (0: the database, not a line).
class ImportRefused : public std::runtime_error {
 public:
  ImportRefused(std::uint64_t line, const std::string& why);
  std::uint64_t line() const noexcept { return line_; }

 private:
  std::uint64_t line_;
};

struct ImportProgress {
  std::uint64_t bytes = 0;  // of the input read so far
  events::Position position = 0;
};

struct ImportOptions {
  std::size_t batch = 2000;  // events per INSERT
  // The input must end with export's end line naming its last event (events/log_digest.hpp), so
  // that a copy cut off at a line boundary is refused. Off: event lines alone are taken (an end
  // line that is there is still checked), and such a copy imports as the shorter log it reads as.
  bool require_end_line = true;
  std::function<void(const ImportProgress&)> progress{};  // after every batch
};

struct ImportReport {
  events::Position head = 0;
  Sha256Digest head_hash{};
  std::size_t projects = 0;
};

// Throws ImportRefused for a bad input or a database that is not empty (nothing is written), and
// pqxx errors for database failures (the transaction is rolled back).
ImportReport import_log(pqxx::connection_base& connection, std::istream& input, const ImportOptions& options = {});

}  // namespace tasklog::projections
