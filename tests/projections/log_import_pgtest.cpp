// Export and import of the whole log (events/event_json, projections/log_import): a seeded
// concurrent workload exported line by line and imported into a fresh database keeps every
// position, id and hash, verifies, and folds to read models equal to the original's; the next
// append continues at head + 1 on the imported chain. Refusals name their line and write nothing:
// one byte changed, a partial (one project's) export, a copy cut off at a line boundary (no end
// line), a non-empty database, a repeated message id.
#include "events/canonical.hpp"
#include "events/event_json.hpp"
#include "events/log_digest.hpp"
#include "projections/event_fold.hpp"
#include "projections/log_import.hpp"
#include "projections/verify.hpp"
#include "tests/projections/replay_fixture.hpp"
#include "tests/support/sql.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace tasklog::projections::testing {
namespace {

using ::testing::HasSubstr;
using tasklog::testing::TestDatabase;

class LogImportTest : public ReplayTest {
 protected:
  // The lines `tasklog export` writes of `log`: its events, then the end line naming the last.
  static std::vector<std::string> export_lines(const std::vector<events::RecordedEvent>& log) {
    std::vector<std::string> lines;
    for (const auto& e : log) lines.push_back(events::event_json_line(e));
    lines.push_back(events::export_end_line(log.empty() ? events::LogDigest{}
                                                        : events::LogDigest{log.back().position, log.back().hash}));
    return lines;
  }

  static std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
  }

  static ImportReport import_into(const TestDatabase& target, const std::string& text) {
    pqxx::connection c(target.conninfo());
    std::istringstream in(text);
    return import_log(c, in, ImportOptions{.batch = 97, .progress = {}});  // several batches, one partly full
  }

  // The refusal's line, checking that the target database was left exactly as empty as before.
  static std::uint64_t refused_line(const TestDatabase& target, const std::string& text, const std::string& why) {
    std::uint64_t line = ~std::uint64_t(0);
    try {
      import_into(target, text);
      ADD_FAILURE() << "the import was not refused";
    } catch (const ImportRefused& e) {
      EXPECT_THAT(e.what(), HasSubstr(why));
      line = e.line();
    }
    EXPECT_EQ(tasklog::testing::query_value(target.conninfo(), "SELECT count(*) FROM events"), "0");
    EXPECT_EQ(tasklog::testing::query_value(target.conninfo(), "SELECT count(*) FROM readmodel.tasks"), "0");
    return line;
  }
};

TEST_F(LogImportTest, ExportImportKeepsEveryHashVerifiesAndEqualsTheOriginal) {
  run_workloads(3, 200, 4242);
  const auto original = all_events(db.conninfo());
  ASSERT_GT(original.size(), 300u);

  TestDatabase copy;
  const ImportReport report = import_into(copy, joined(export_lines(original)));
  EXPECT_EQ(report.head, original.back().position);
  EXPECT_EQ(report.head_hash, original.back().hash);
  EXPECT_EQ(report.projects, 6u);

  const auto imported = all_events(copy.conninfo());
  ASSERT_EQ(imported.size(), original.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    SCOPED_TRACE("position " + std::to_string(original[i].position));
    EXPECT_EQ(imported[i].position, original[i].position);
    EXPECT_EQ(imported[i].event_id, original[i].event_id);
    EXPECT_EQ(imported[i].hash, original[i].hash);
    EXPECT_EQ(imported[i].prev_hash, original[i].prev_hash);
    EXPECT_EQ(imported[i].recorded_at, original[i].recorded_at);
    EXPECT_EQ(events::event_json_line(imported[i]), events::event_json_line(original[i]));
  }
  {
    pqxx::connection c(copy.conninfo());
    const VerifyReport verified = verify_log_and_read_models(c);
    EXPECT_TRUE(verified.ok()) << verified.describe();
    EXPECT_EQ(verified.position, original.back().position);
  }
  ProjectModels copied;
  {
    pqxx::connection c(copy.conninfo());
    pqxx::read_transaction tx(c);
    copied = load_all(tx);
  }
  const ProjectModels source = load_inline();
  EXPECT_FALSE(first_difference(source, copied).has_value()) << describe(first_difference(source, copied));
  EXPECT_TRUE(source == copied);

  // The next append on the imported log continues its chain: position head + 1, chained on the
  // imported head's hash, and the whole still verifies.
  {
    events::EventStore copy_store(engine_store_options(copy.conninfo()));
    TaskEngine copy_engine(copy_store);
    const auto outcome =
        copy_engine.execute(CreateTask{.project_id = source.begin()->first, .title = "after the import"},
                            derived_uuid("test:importer"));
    EXPECT_EQ(outcome.append.last_position(), report.head + 1);
  }
  const auto after = all_events(copy.conninfo());
  ASSERT_EQ(after.size(), original.size() + 1);
  EXPECT_EQ(after.back().position, report.head + 1);
  EXPECT_EQ(after.back().prev_hash, report.head_hash);
  pqxx::connection c(copy.conninfo());
  const VerifyReport verified = verify_log_and_read_models(c);
  EXPECT_TRUE(verified.ok()) << verified.describe();
}

TEST_F(LogImportTest, OneByteChangedInTheMiddleIsRefusedAtItsLine) {
  run_workloads(2, 60, 77);
  auto lines = export_lines(all_events(db.conninfo()));
  const std::size_t middle = lines.size() / 2;
  // A byte inside the payload: still JSON, still an event, but not the event that was hashed.
  std::string& line = lines[middle];
  const auto at = line.find("\"payload\":{") + std::string("\"payload\":{\"").size();
  ASSERT_LT(at, line.size());
  line[at] = line[at] == 'a' ? 'b' : 'a';
  TestDatabase copy;
  EXPECT_EQ(refused_line(copy, joined(lines), "the hash does not match"), middle + 1);

  // A byte that breaks the JSON itself is refused at its line too.
  lines = export_lines(all_events(db.conninfo()));
  lines[middle][0] = '[';
  EXPECT_EQ(refused_line(copy, joined(lines), "not JSON"), middle + 1);
}

TEST_F(LogImportTest, APartialExportIsRefusedAtTheFirstLineThatIsNotTheWholeLog) {
  run_workloads(2, 40, 5);
  const auto log = all_events(db.conninfo());
  TestDatabase copy;

  // From position 3 on: the log must start at position 1.
  std::vector<events::RecordedEvent> from_three(log.begin() + 2, log.end());
  EXPECT_EQ(refused_line(copy, joined(export_lines(from_three)), "starts at position 3"), 1u);

  // One project's events skip the other projects' positions.
  std::vector<events::RecordedEvent> one_project;
  for (const auto& e : log)
    if (e.project_id == log.front().project_id) one_project.push_back(e);
  std::size_t first_gap = 0;
  while (first_gap < one_project.size() && one_project[first_gap].position == std::int64_t(first_gap) + 1) ++first_gap;
  ASSERT_LT(first_gap, one_project.size()) << "the workload's projects did not interleave";
  EXPECT_EQ(refused_line(copy, joined(export_lines(one_project)), "positions must be consecutive"), first_gap + 1);

  // Two lines swapped: the chain is broken where the order is.
  auto lines = export_lines(log);
  std::swap(lines[4], lines[5]);
  EXPECT_EQ(refused_line(copy, joined(lines), "position 6 follows position 4"), 5u);

  EXPECT_EQ(refused_line(copy, "", "no events"), 0u);
}

// A log whose times were moved back and re-hashed passes every chain check, but time must never
// decrease along the log (replay --at TIME takes a prefix): refused at the line where it does.
TEST_F(LogImportTest, TimeGoingBackAlongTheLogIsRefusedEvenWhenReHashed) {
  run_workloads(1, 20, 13);
  auto log = all_events(db.conninfo());
  ASSERT_GT(log.size(), 6u);
  const std::size_t k = 5;
  log[k].recorded_at = log[k - 1].recorded_at - std::chrono::seconds(1);
  rehash_from(log, k);
  TestDatabase copy;
  EXPECT_EQ(refused_line(copy, joined(export_lines(log)), "recorded_at goes back"), k + 1);
}

// A line whose project column says another project than its payload (re-hashed, so the chain
// holds) would be folded by import into one project and by verify into the other: refused.
TEST_F(LogImportTest, ColumnsThatDisagreeWithThePayloadAreRefused) {
  run_workloads(2, 20, 17);
  auto log = all_events(db.conninfo());
  ASSERT_GT(log.size(), 6u);
  const std::size_t k = 5;
  const auto other = std::find_if(log.begin(), log.end(), [&](const auto& e) { return e.project_id != log[k].project_id; });
  ASSERT_NE(other, log.end()) << "the workload made one project";
  log[k].project_id = other->project_id;
  rehash_from(log, k);
  TestDatabase copy;
  EXPECT_EQ(refused_line(copy, joined(export_lines(log)), "disagree with its payload"), k + 1);
}

// A message id twice in the log (the event repeated at the end, chained, a version of its own)
// passes every line's checks, but its fold has two rows of one key: refused at the repeat's line,
// naming the first, instead of failing on task_messages' primary key.
TEST_F(LogImportTest, AMessageIdTheLogRepeatsIsRefusedAtItsLine) {
  run_workloads(2, 150, 23);
  auto log = all_events(db.conninfo());
  const auto message = std::ranges::find(log, std::string("TaskMessageAppended"), &events::RecordedEvent::type);
  ASSERT_NE(message, log.end()) << "the workload appended no message";
  const events::Position first = message->position;
  const Uuid id = std::get<TaskMessageAppended>(decode_recorded(*message)).message_id;
  log.push_back(appended_again(log, *message));
  TestDatabase copy;
  EXPECT_EQ(refused_line(copy, joined(export_lines(log)),
                         "creates task_messages row " + to_string(id) + ", which the event at position " +
                             std::to_string(first) + " created already"),
            log.size());
}

// Every exported line is whole, so a copy cut off at a line boundary reads as a shorter log that
// checks out line by line; export's end line, naming the last event, is what tells. Refused without
// it, with one that names a later position, or with a line after it; the lines alone are taken only
// when asked for (`import --without-end-line`), as the shorter log they are.
TEST_F(LogImportTest, AnExportCutOffAtALineBoundaryIsRefused) {
  run_workloads(1, 30, 11);
  const auto lines = export_lines(all_events(db.conninfo()));
  const std::size_t events = lines.size() - 1;
  ASSERT_GT(events, 3u);
  const std::vector<std::string> cut(lines.begin(), lines.end() - 2);  // the last event and the end line
  TestDatabase copy;
  EXPECT_EQ(refused_line(copy, joined(cut), "without the end line export writes last"), events - 1);

  auto short_of_one = lines;
  short_of_one.erase(short_of_one.end() - 2);
  EXPECT_EQ(refused_line(copy, joined(short_of_one),
                         "the end line says the export ends at position " + std::to_string(events)),
            events);

  auto after_the_end = lines;
  after_the_end.push_back(lines.front());
  EXPECT_EQ(refused_line(copy, joined(after_the_end), "a line after the end line"), lines.size() + 1);

  pqxx::connection c(copy.conninfo());
  std::istringstream in(joined(cut));
  const ImportReport report = import_log(c, in, ImportOptions{.batch = 97, .require_end_line = false});
  EXPECT_EQ(report.head, events - 1);
}

// Read models must be empty too — every table of them, not only projects and tasks.
TEST_F(LogImportTest, ALeftoverReadModelRowOfAnyTableIsRefused) {
  run_workloads(1, 10, 21);
  const auto text = joined(export_lines(all_events(db.conninfo())));
  TestDatabase copy;
  {
    pqxx::connection c(copy.conninfo());
    pqxx::work tx(c);
    tx.exec("INSERT INTO readmodel.task_messages (id, task_id, project_id, position, role, content, created_by, created_at) "
            "VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1, 'user', 'left over', gen_random_uuid(), now())");
    tx.commit();
  }
  try {
    import_into(copy, text);
    ADD_FAILURE() << "an import beside a leftover read-model row was not refused";
  } catch (const ImportRefused& e) {
    EXPECT_THAT(e.what(), HasSubstr("read models are not"));
  }
  EXPECT_EQ(tasklog::testing::query_value(copy.conninfo(), "SELECT count(*) FROM events"), "0");
}

TEST_F(LogImportTest, ANonEmptyDatabaseIsRefusedBeforeAnythingIsRead) {
  run_workloads(1, 20, 9);
  const auto text = joined(export_lines(all_events(db.conninfo())));
  const auto before = head();
  try {
    import_into(db, text);
    ADD_FAILURE() << "an import into a database with events was not refused";
  } catch (const ImportRefused& e) {
    EXPECT_EQ(e.line(), 0u);
    EXPECT_THAT(e.what(), HasSubstr("already holds " + std::to_string(before) + " events"));
  }
  EXPECT_EQ(head(), before);
}

}  // namespace
}  // namespace tasklog::projections::testing
