// `tasklog events tail [--project P] [-n N] [--follow] [--json]`: the last events of the log (or of
// one project) as a readable timeline, or as NDJSON in export's format; with --follow it then
// waits for new ones — woken by the NOTIFY every append sends, and re-reading every second
// anyway, since a notification is only a wake-up and may be missed across a reconnect.
#include "api/cli.hpp"

#include "core/json.hpp"
#include "core/terminal_text.hpp"
#include "core/time.hpp"
#include "events/database.hpp"
#include "events/event_json.hpp"
#include "events/event_reader.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace tasklog::api {
namespace {

struct TailOptions {
  DatabaseOptions database;
  std::string project_id;
  std::size_t lines = 20;
  bool follow = false;
  bool json = false;
};

// Only notices that something was appended; the loop re-reads from its cursor.
class Wakeup final : public pqxx::notification_receiver {
 public:
  explicit Wakeup(pqxx::connection_base& c) : pqxx::notification_receiver(c, events::kNotifyChannel) {}
  void operator()(const std::string&, int) override {}
};

std::string short_id(const Uuid& id) { return to_string(id).substr(0, 8); }

// One line a person can scan: position, time, type, the task and the payload (cut short, by
// characters: a cut by bytes could leave half of one for the terminal to garble).
std::string readable(const events::RecordedEvent& e, bool with_project) {
  constexpr std::size_t kPayloadChars = 160;
  const std::string payload = canonical_json(e.payload);  // compact: jsonb's text has a space after every colon
  const bool cut = first_characters(payload, kPayloadChars).size() < payload.size();
  const std::string shown =
      cut ? for_terminal(first_characters(payload, kPayloadChars - 3)) + "..." : for_terminal(payload);
  return fmt::format("{:>8}  {}  {:<22} {}task {:<8}  {}", e.position, format_timestamp(e.recorded_at),
                     for_terminal(e.type), with_project ? "project " + short_id(e.project_id) + "  " : std::string(),
                     e.task_id ? short_id(*e.task_id) : std::string("-"), shown);
}

void tail(const TailOptions& options, const std::string& conninfo) {
  const std::optional<Uuid> project =
      options.project_id.empty() ? std::nullopt : std::optional(project_id_argument(options.project_id));
  pqxx::connection connection(conninfo);
  std::unique_ptr<Wakeup> wakeup;
  if (options.follow) wakeup = std::make_unique<Wakeup>(connection);  // listening before the first read
  events::Position cursor = 0;
  {
    pqxx::read_transaction tx(connection);
    events::EventReader reader(tx);
    cursor = options.lines == 0 ? reader.head() : reader.before_last(options.lines, project);
  }
  constexpr std::size_t kBatch = 1000;
  for (;;) {
    std::vector<events::RecordedEvent> batch;
    {
      pqxx::read_transaction tx(connection);
      events::EventReader reader(tx);
      batch = project ? reader.project_after(*project, cursor, kBatch) : reader.after(cursor, kBatch);
    }
    std::string text;
    for (const auto& e : batch) {
      text += options.json ? events::event_json_line(e) : readable(e, !project);
      text.push_back('\n');
    }
    if (!batch.empty()) cursor = batch.back().position;
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      throw std::runtime_error("writing stdout failed");
    if (batch.size() == kBatch) continue;  // more to read now
    if (!options.follow) return;
    connection.await_notification(1, 0);
  }
}

}  // namespace

void add_events_command(CLI::App& app, int& exit_code) {
  auto* events = app.add_subcommand("events", "Read the event log");
  events->require_subcommand(1);
  auto options = std::make_shared<TailOptions>();
  auto* command = events->add_subcommand(
      "tail", "Print the last events (of the log or of one project) as a readable timeline or NDJSON; with "
              "--follow keep printing new events as they are appended (until interrupted)");
  command->add_option("--project", options->project_id, "only this project's events");
  command->add_option("-n,--lines", options->lines, "how many past events to print first")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000000));
  command->add_flag("-f,--follow", options->follow, "then wait for new events");
  command->add_flag("--json", options->json, "one JSON object per line, the format of `tasklog export`");
  add_database_options(*command, options->database);
  command->callback([options, &exit_code] {
    with_database(options->database, [&](const std::string& conninfo) { tail(*options, conninfo); });
    exit_code = 0;
  });
}

}  // namespace tasklog::api
