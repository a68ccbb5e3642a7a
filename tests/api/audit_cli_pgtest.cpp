// The audit and replay commands of the real tasklog binary against test databases:
//   export > file, import < file into a fresh database: every hash kept, `verify` passes, the read
//   models equal the original's, and the next append continues at head + 1; a byte changed in
//   the middle, a partial export, a copy cut off at a line boundary, a non-empty database: refused,
//   naming the line, nothing written;
//   an event changed in the table (trigger disabled, as its owner may): `verify` names its position;
//   a digest taken before a rewrite that recomputed the whole chain fails `verify --digest`;
//   replay at positions and times, diff between two positions, events tail (also --follow).
#include "events/canonical.hpp"
#include "events/event_reader.hpp"
#include "events/log_digest.hpp"
#include "projections/read_model_store.hpp"
#include "projections/task_engine.hpp"
#include "tests/api/cli_runner.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/test_cluster.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <signal.h>

#include <regex>

namespace tasklog::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

class AuditCliTest : public ::testing::Test {
 protected:
  // A small project with every kind of record: tasks (one claimed, one done), an artifact, a
  // decision, a checkpoint; and a second project, so one project's export skips positions.
  void SetUp() override {
    auto& e = engine(db_);
    project_ = created<ProjectCreated>(e.execute(CreateProject{.project_name = "audit"}, actor_)).project_id;
    other_ = created<ProjectCreated>(e.execute(CreateProject{.project_name = "other"}, actor_)).project_id;
    first_ = created<TaskCreated>(e.execute(CreateTask{.project_id = project_, .title = "first"}, actor_)).task_id;
    e.execute(CreateTask{.project_id = other_, .title = "elsewhere"}, actor_);
    const Uuid token =
        *e.execute(ClaimTask{.task_id = first_, .agent = "agent-1", .lease_seconds = 600}, actor_).lease_token;
    e.execute(AppendArtifact{.task_id = first_, .type = ArtifactType::diff, .summary = "patch", .lease_token = token},
              actor_);
    e.execute(RecordDecision{.project_id = project_, .title = "database", .choice = "postgres"}, actor_);
    e.execute(CreateCheckpoint{.project_id = project_, .label = "half way", .summary = "green"}, actor_);
  }

  template <class E>
  static E created(const projections::CommandOutcome& outcome) {
    return std::get<E>(outcome.events.at(0));
  }

  projections::TaskEngine& engine(const TestDatabase& db) {
    auto& slot = engines_[db.name()];
    if (!slot.engine) {
      slot.store = std::make_unique<events::EventStore>(projections::engine_store_options(db.conninfo()));
      slot.engine = std::make_unique<projections::TaskEngine>(*slot.store);
    }
    return *slot.engine;
  }

  static events::Position head(const TestDatabase& db) {
    return std::stoll(query_value(db.conninfo(), "SELECT coalesce(max(position), 0) FROM events"));
  }
  // Every row of the log as text, position order: equal iff every column (hashes included) is.
  static std::string log_rows(const TestDatabase& db) {
    return query_value(db.conninfo(), "SELECT string_agg(e::text, E'\\n' ORDER BY position) FROM events e");
  }
  static std::map<Uuid, ProjectModel> read_models(const TestDatabase& db) {
    pqxx::connection c(db.conninfo());
    pqxx::read_transaction tx(c);
    return projections::load_all(tx);
  }

  std::filesystem::path exported(TasklogCli& cli, std::vector<std::string> args = {}) {
    const auto file = cli.dir() / ("export-" + std::to_string(exports_++) + ".ndjson");
    args.insert(args.begin(), "export");
    const CommandRun run = cli.run(args, std::nullopt, file);
    EXPECT_EQ(run.status, 0) << run.output;
    return file;
  }

  struct Engine {
    std::unique_ptr<events::EventStore> store;
    std::unique_ptr<projections::TaskEngine> engine;
  };
  TestDatabase db_;
  TestDatabase copy_;
  std::map<std::string, Engine> engines_;  // declared after the databases: stopped before they are dropped
  Uuid actor_ = derived_uuid("audit-cli");
  Uuid project_{}, other_{}, first_{};
  int exports_ = 0;
};

TEST_F(AuditCliTest, ExportImportIntoAFreshDatabaseVerifiesAndEqualsTheOriginal) {
  TasklogCli source(db_.conninfo());
  TasklogCli target(copy_.conninfo());
  const auto file = exported(source);
  const auto lines = lines_of(read_file(file));
  ASSERT_EQ(lines.size(), std::size_t(head(db_)) + 1);  // every event, then the end line
  {
    pqxx::connection c(db_.conninfo());
    pqxx::read_transaction tx(c);
    EXPECT_EQ(lines.back(), events::export_end_line(events::head_digest(tx)));
  }

  CommandRun run = target.run({"import"}, file);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("imported " + std::to_string(head(db_)) + " events"));
  EXPECT_EQ(log_rows(copy_), log_rows(db_));
  EXPECT_TRUE(read_models(copy_) == read_models(db_));
  run = target.run({"verify"});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("ok: " + std::to_string(head(db_)) + " events"));

  // The imported log goes on: the next append is head + 1, chained on the imported head.
  const events::Position imported_head = head(copy_);
  const auto outcome = engine(copy_).execute(CreateTask{.project_id = project_, .title = "after"}, actor_);
  EXPECT_EQ(outcome.append.last_position(), imported_head + 1);
  run = target.run({"verify"});
  EXPECT_EQ(run.status, 0) << run.output;

  // A second import into the now non-empty database is refused before it reads a line.
  const auto rows_before = log_rows(copy_);
  run = target.run({"import", file.string()});
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("already holds " + std::to_string(imported_head + 1) + " events"));
  EXPECT_EQ(log_rows(copy_), rows_before);
}

// docs/audit.md: import into an empty database — one made by `tasklog migrate`, or a fresh one
// (an embedded cluster just started, a new database named by URL): the schema comes first.
TEST_F(AuditCliTest, ImportIntoADatabaseWithoutTheSchemaMigratesItFirst) {
  TasklogCli source(db_.conninfo());
  const auto file = exported(source);
  TestDatabase bare(false);
  TasklogCli target(bare.conninfo());
  CommandRun run = target.run({"import"}, file);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(log_rows(bare), log_rows(db_));
  EXPECT_TRUE(read_models(bare) == read_models(db_));
  run = target.run({"verify"});
  EXPECT_EQ(run.status, 0) << run.output;
}

TEST_F(AuditCliTest, ImportRefusesAChangedByteOrAPartialExportAtItsLine) {
  TasklogCli source(db_.conninfo());
  TasklogCli target(copy_.conninfo());
  auto lines = lines_of(read_file(exported(source)));
  ASSERT_GE(lines.size(), 7u);
  const std::size_t middle = lines.size() / 2;
  // One byte inside the middle event's stream type: still a well-formed event, not the hashed one.
  const auto at = lines[middle].find("\"stream_type\":\"") + std::string("\"stream_type\":\"").size();
  lines[middle][at] = lines[middle][at] == 'x' ? 'y' : 'x';
  const auto changed = target.dir() / "changed.ndjson";
  write_file(changed, joined(lines));
  CommandRun run = target.run({"import"}, changed);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("import refused, nothing was written: line " + std::to_string(middle + 1) + ":"));
  EXPECT_EQ(head(copy_), 0);

  // One project's events: its second event is not at position 2 (the other project's is).
  run = target.run({"import"}, exported(source, {"--project", to_string(project_)}));
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("line 2: position 3 follows position 1"));
  // A range that does not start at the beginning.
  run = target.run({"import"}, exported(source, {"--from", "3", "--to", "5"}));
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("line 1: the log starts at position 3"));
  EXPECT_EQ(head(copy_), 0);
  EXPECT_EQ(query_value(copy_.conninfo(), "SELECT count(*) FROM readmodel.projects"), "0");

  // What the range export holds: exactly positions 3..5, and the end line naming 5.
  const auto range = lines_of(read_file(exported(source, {"--from", "3", "--to", "5"})));
  ASSERT_EQ(range.size(), 4u);
  EXPECT_THAT(range.front(), HasSubstr("{\"position\":3,"));
  EXPECT_THAT(range[2], HasSubstr("{\"position\":5,"));
  EXPECT_THAT(range.back(), ::testing::StartsWith("{\"end\":{\"position\":5,"));
}

// A copy of an export cut off at a line boundary (its last event and end line lost on the way):
// every line is whole and chained, so only the missing end line shows it. Refused; taken as the
// shorter log only with --without-end-line.
TEST_F(AuditCliTest, ImportRefusesAnExportCutOffAtALineBoundary) {
  TasklogCli source(db_.conninfo());
  TasklogCli target(copy_.conninfo());
  auto lines = lines_of(read_file(exported(source)));
  lines.resize(lines.size() - 2);
  const auto cut = target.dir() / "cut.ndjson";
  write_file(cut, joined(lines));
  CommandRun run = target.run({"import"}, cut);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("import refused, nothing was written: line " + std::to_string(lines.size()) +
                                    ": the input ends here without the end line export writes last"));
  EXPECT_EQ(head(copy_), 0);

  run = target.run({"import", "--without-end-line", cut.string()});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(head(copy_), events::Position(lines.size()));
}

TEST_F(AuditCliTest, VerifyNamesTheEventChangedInTheTable) {
  TasklogCli cli(db_.conninfo());
  ASSERT_EQ(cli.run({"verify"}).status, 0);
  // The table's owner (the role serve connects as) or a superuser may disable the trigger and do
  // this; the chain still finds it.
  query_value(db_.conninfo(),
              "ALTER TABLE events DISABLE TRIGGER USER;"
              "UPDATE events SET payload = jsonb_set(payload, '{summary}', '\"forged\"') WHERE position = 7;"
              "ALTER TABLE events ENABLE TRIGGER USER");
  const CommandRun run = cli.run({"verify"});
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("hash chain broken at position 7"));
}

TEST_F(AuditCliTest, ADigestTakenBeforeARewriteFailsVerifyAfterIt) {
  TasklogCli cli(db_.conninfo());
  const auto digest_file = cli.dir() / "digest.json";
  CommandRun run = cli.run({"digest"}, std::nullopt, digest_file);
  ASSERT_EQ(run.status, 0) << run.output;
  const auto digest = events::parse_digest_json(read_file(digest_file));
  EXPECT_EQ(digest.position, head(db_));

  run = cli.run({"verify", "--digest", digest_file.string()});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("ok: the log up to position " + std::to_string(digest.position)));
  // The log growing is no rewrite.
  engine(db_).execute(CreateTask{.project_id = project_, .title = "later"}, actor_);
  EXPECT_EQ(cli.run({"verify", "--digest", digest_file.string()}).status, 0);

  // A rewrite by someone who also recomputed every later hash, so the chain itself is intact:
  // event 2's metadata (which no read model holds) is replaced and the chain re-hashed from there.
  {
    pqxx::connection c(db_.conninfo());
    pqxx::work tx(c);
    tx.exec("ALTER TABLE events DISABLE TRIGGER USER");
    auto log = events::EventReader(tx).after(0, 1000);
    Sha256Digest prev = log.at(0).hash;
    for (std::size_t i = 1; i < log.size(); ++i) {
      auto e = events::canonicalized(log[i]);
      if (i == 1) e.metadata = R"({"agent":"someone else"})";
      e.prev_hash = prev;
      e.hash = events::chain_hash(prev, e);
      prev = e.hash;
      tx.exec_params("UPDATE events SET metadata = $1::jsonb, prev_hash = decode($2, 'hex'), hash = decode($3, 'hex') "
                     "WHERE position = $4",
                     e.metadata, to_hex(e.prev_hash), to_hex(e.hash), e.position);
    }
    tx.exec("ALTER TABLE events ENABLE TRIGGER USER");
    tx.commit();
  }
  run = cli.run({"verify"});
  EXPECT_EQ(run.status, 0) << "the rewrite was meant to pass the chain check: " << run.output;
  run = cli.run({"verify", "--digest", digest_file.string()});
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("digest of position " + std::to_string(digest.position) + " does not hold"));
  EXPECT_THAT(run.output, HasSubstr("was rewritten since the digest was taken"));

  write_file(digest_file, R"({"position":1})");
  run = cli.run({"verify", "--digest", digest_file.string()});
  EXPECT_EQ(run.status, 4);
  EXPECT_THAT(run.output, HasSubstr("\"hash\": 64 hex digits"));
}

// verify exits 1 for a finding and 4 when it could not check: a script that alarms on a database
// that does not verify must tell it from one it could not reach (both used to exit 1).
TEST_F(AuditCliTest, VerifyThatCouldNotCheckExitsFourNotOne) {
  CommandRun run = TasklogCli("postgresql://127.0.0.1:1/x").run({"verify"});
  EXPECT_EQ(run.status, 4) << run.output;
  EXPECT_THAT(run.output, HasSubstr("could not verify"));

  TasklogCli cli(db_.conninfo());
  run = cli.run({"verify", "--digest", "/nonexistent"});
  EXPECT_EQ(run.status, 4) << run.output;
  EXPECT_THAT(run.output, HasSubstr("cannot open the digest file /nonexistent"));
  write_file(cli.dir() / "malformed.json", R"({"position":1})");
  EXPECT_EQ(cli.run({"verify", "--digest", (cli.dir() / "malformed.json").string()}).status, 4);

  // An SQL error: a database without the schema.
  TestDatabase bare(false);
  run = TasklogCli(bare.conninfo()).run({"verify"});
  EXPECT_EQ(run.status, 4) << run.output;

  EXPECT_EQ(cli.run({"verify"}).status, 0);
  query_value(db_.conninfo(), "UPDATE readmodel.tasks SET title = 'changed by hand'");
  EXPECT_EQ(cli.run({"verify"}).status, 1);
}

TEST_F(AuditCliTest, ReplayAtAPositionOrATimeAndContextAgree) {
  TasklogCli cli(db_.conninfo());
  const std::string project = to_string(project_);
  // Position 3: the project, the other project, the first task — not yet claimed.
  CommandRun json = cli.run({"replay", "--project", project, "--at", "3", "--json"});
  ASSERT_EQ(json.status, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"title\":\"first\""));
  EXPECT_THAT(json.output, HasSubstr("\"status\":\"todo\""));
  const CommandRun context = cli.run({"context", project, "--at", "3"});
  EXPECT_EQ(context.output, json.output);

  // The time of event 3 stands for position 3 (later events were recorded later or at the same
  // microsecond; then they are part of the state at that time, so compare with the position).
  const std::string time = query_value(
      db_.conninfo(), "SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM events "
                      "WHERE position = 3");
  const std::string last_at_time = query_value(
      db_.conninfo(), "SELECT max(position) FROM events WHERE recorded_at <= (SELECT recorded_at FROM events WHERE "
                      "position = 3)");
  const CommandRun by_time = cli.run({"replay", "--project", project, "--at", time, "--json"});
  ASSERT_EQ(by_time.status, 0) << by_time.output;
  EXPECT_EQ(by_time.output, cli.run({"context", project, "--at", last_at_time}).output);

  const CommandRun summary = cli.run({"replay", "--project", project, "--at", std::to_string(head(db_))});
  ASSERT_EQ(summary.status, 0) << summary.output;
  EXPECT_THAT(summary.output, HasSubstr("project \"audit\""));
  EXPECT_THAT(summary.output, HasSubstr("in_progress"));
  EXPECT_THAT(summary.output, HasSubstr("active: first held by agent-1"));
  EXPECT_THAT(summary.output, HasSubstr("latest checkpoint: half way"));
  EXPECT_THAT(summary.output, HasSubstr("database: postgres"));

  EXPECT_EQ(cli.run({"replay", "--project", project, "--at", "0"}).status, 2);
  EXPECT_EQ(cli.run({"replay", "--project", project, "--at", "1999-01-01T00:00:00Z"}).status, 2);
  const CommandRun bad = cli.run({"replay", "--project", project, "--at", "soon"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_THAT(bad.output, HasSubstr("--at takes a log position or an RFC 3339 time"));
}

// Any member writes titles; the operator reads the summary in a terminal. Control characters come
// out as \u escapes, never as commands to the terminal (here: set the title, clear the screen).
TEST_F(AuditCliTest, ReplayShowsControlCharactersEscaped) {
  engine(db_).execute(CreateTask{.project_id = project_, .title = "evil\x1b]0;owned\x07\x1b[2J\u0085end"}, actor_);
  TasklogCli cli(db_.conninfo());
  const CommandRun run = cli.run({"replay", "--project", to_string(project_), "--at", std::to_string(head(db_))});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr(R"(evil\u001b]0;owned\u0007\u001b[2J\u0085end)"));
  EXPECT_EQ(run.output.find('\x1b'), std::string::npos);
  EXPECT_EQ(run.output.find('\x07'), std::string::npos);
  // A point beyond the log's history is refused, as in GET …/context?at=.
  const CommandRun beyond = cli.run({"replay", "--project", to_string(project_), "--at", std::to_string(head(db_) + 5)});
  EXPECT_NE(beyond.status, 0) << beyond.output;
  EXPECT_THAT(beyond.output, HasSubstr("beyond the log's last position"));
}

// True when `text` is well-formed UTF-8 (no character cut short, no stray continuation byte).
bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

// events tail and diff show what members wrote the way replay does: DEL and C1 controls (here CSI,
// U+009B, which 8-bit terminals take as ESC [) as \u escapes, never raw; and tail's payload is cut
// between characters, never inside one.
TEST_F(AuditCliTest, EventsTailAndDiffShowControlCharactersEscaped) {
  const std::string before = std::to_string(head(db_));
  const std::string evil = "evil\x7f\u0085\u009b2Jend";
  // The description, which comes early enough in the payload not to be cut off.
  engine(db_).execute(CreateTask{.project_id = project_, .title = evil, .description = evil}, actor_);
  TasklogCli cli(db_.conninfo());
  const std::string escaped = R"(evil\u007f\u0085\u009b2Jend)";
  auto raw = [](const std::string& output) {
    return output.find('\x7f') != std::string::npos || output.find("\u0085") != std::string::npos ||
           output.find("\u009b") != std::string::npos;
  };
  CommandRun run = cli.run({"events", "tail", "-n", "1"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr(escaped));
  EXPECT_FALSE(raw(run.output)) << run.output;

  run = cli.run({"diff", "--project", to_string(project_), "--from", before});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr(escaped));
  EXPECT_FALSE(raw(run.output)) << run.output;

  // Two-byte characters across the cut, once at each parity: a cut by bytes splits one of the two.
  for (const std::string lead : {"", "x"}) {
    std::string text = lead;
    for (int i = 0; i < 200; ++i) text += "é";
    engine(db_).execute(CreateTask{.project_id = project_, .title = "long", .description = text}, actor_);
    run = cli.run({"events", "tail", "-n", "1"});
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_TRUE(valid_utf8(run.output)) << run.output;
    EXPECT_THAT(run.output, HasSubstr("éé..."));
  }
}

TEST_F(AuditCliTest, DiffListsTheChangesBetweenTwoPositions) {
  TasklogCli cli(db_.conninfo());
  const std::string project = to_string(project_);
  // After position 4 (both projects and their first tasks): the claim, artifact, decision, checkpoint.
  CommandRun run = cli.run({"diff", "--project", project, "--from", "4", "--to", std::to_string(head(db_)), "--json"});
  ASSERT_EQ(run.status, 0) << run.output;
  rapidjson::Document doc;
  doc.Parse(run.output.c_str());
  ASSERT_FALSE(doc.HasParseError()) << run.output;
  EXPECT_EQ(doc["events"].GetInt(), 4);
  std::set<std::string> tables;
  for (const auto& m : doc["tables"].GetObject()) tables.insert(m.name.GetString());
  EXPECT_EQ(tables, (std::set<std::string>{"projects", "tasks", "artifacts", "decisions", "checkpoints"}));
  EXPECT_STREQ(rapidjson::Pointer("/tables/tasks/changed/0/fields/status/to").Get(doc)->GetString(), "in_progress");
  EXPECT_EQ(doc["tables"]["tasks"]["added"].Size(), 0u);
  EXPECT_EQ(doc["tables"]["artifacts"]["added"].Size(), 1u);

  run = cli.run({"diff", "--project", project, "--from", "4"});
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("~ " + to_string(first_) + " \"first\""));
  EXPECT_THAT(run.output, HasSubstr("status: \"todo\" -> \"in_progress\""));
  EXPECT_THAT(run.output, HasSubstr("decisions\n  + "));

  EXPECT_NE(cli.run({"diff", "--project", project, "--from", "5", "--to", "4"}).status, 0);
  EXPECT_EQ(cli.run({"diff", "--project", to_string(derived_uuid("nobody")), "--from", "0"}).status, 2);
}

TEST_F(AuditCliTest, EventsTailPrintsTheLastEventsAndFollowsNewOnes) {
  TasklogCli cli(db_.conninfo());
  const std::string last = std::to_string(head(db_));
  CommandRun run = cli.run({"events", "tail", "-n", "3"});
  ASSERT_EQ(run.status, 0) << run.output;
  auto lines = lines_of(run.output);
  ASSERT_EQ(lines.size(), 3u) << run.output;
  EXPECT_THAT(lines.back(), ::testing::StartsWith(std::string(8 - last.size(), ' ') + last + "  "));
  EXPECT_THAT(lines.back(), HasSubstr("CheckpointCreated"));

  run = cli.run({"events", "tail", "--project", to_string(other_), "--json"});
  ASSERT_EQ(run.status, 0) << run.output;
  lines = lines_of(run.output);
  ASSERT_EQ(lines.size(), 2u) << run.output;  // the other project's creation and its task
  EXPECT_THAT(lines[0], HasSubstr("\"position\":2,"));
  EXPECT_THAT(lines[1], HasSubstr("\"position\":4,"));

  const auto output = cli.dir() / "follow.txt";
  const pid_t follower = cli.start({"events", "tail", "-n", "1", "--follow"}, output);
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(output)).size() == 1; })) << read_file(output);
  const auto appended =
      engine(db_).execute(CreateTask{.project_id = project_, .title = "followed"}, actor_).append.last_position();
  EXPECT_TRUE(eventually([&] { return lines_of(read_file(output)).size() == 2; })) << read_file(output);
  ::kill(follower, SIGTERM);
  events::wait_for_exit(follower);
  lines = lines_of(read_file(output));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], ::testing::StartsWith(std::string(8 - std::to_string(appended).size(), ' ') +
                                              std::to_string(appended) + "  "));
  EXPECT_THAT(lines[1], HasSubstr("TaskCreated"));
}

TEST_F(AuditCliTest, EveryCommandHasHelp) {
  TasklogCli cli("");
  for (const std::vector<std::string>& command : {std::vector<std::string>{"export"}, {"import"}, {"digest"},
                                                 {"verify"}, {"replay"}, {"diff"}, {"events", "tail"}, {"context"}}) {
    auto args = command;
    args.push_back("--help");
    const CommandRun run = cli.run(args);
    EXPECT_EQ(run.status, 0) << command.front() << ": " << run.output;
    EXPECT_THAT(run.output, HasSubstr("Usage")) << command.front();
  }
}

}  // namespace
}  // namespace tasklog::testing
