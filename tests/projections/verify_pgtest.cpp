// tasklog verify: passes on an honest database; names the read-model row changed (or removed)
// by hand; finds an event changed with the immutability trigger disabled (which the table's owner
// can do, not only a superuser), by its
// position in the hash chain and by the read-model row that no longer matches it; names an event
// the fold cannot read, and a message id the log repeats (each of which also stops a rebuild before
// it touches the live read models).
#include "core/time.hpp"
#include "events/event_json.hpp"
#include "projections/event_fold.hpp"
#include "projections/rebuild.hpp"
#include "projections/verify.hpp"
#include "tests/projections/replay_fixture.hpp"
#include "tests/support/sql.hpp"

#include "tests/support/eventually.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>
#include <thread>

namespace tasklog::projections::testing {
namespace {

using ::testing::HasSubstr;
using tasklog::testing::query_value;

class VerifyTest : public ReplayTest {
 protected:
  void SetUp() override {
    ReplayTest::SetUp();
    run_workloads(2, 300, 31337);
  }

  VerifyReport verify() {
    pqxx::connection c(db.conninfo());
    return verify_log_and_read_models(c);
  }

  // What the table's owner (the role tasklog connects as) or a superuser can do: the trigger
  // refuses every change to events while it is enabled, and they may disable it.
  void change_event_by_hand(const std::string& position, const std::string& set) {
    query_value(db.conninfo(), "ALTER TABLE events DISABLE TRIGGER USER;"
                               "UPDATE events SET " + set + " WHERE position = " + position + ";"
                               "ALTER TABLE events ENABLE TRIGGER USER");
  }

  // The rows from `first` on as `log` holds them now (time, project, version, chain) written over the
  // table's with the trigger disabled: a rewrite that recomputed every later hash.
  void rewrite_by_hand(const std::vector<events::RecordedEvent>& log, std::size_t first) {
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    tx.exec("ALTER TABLE events DISABLE TRIGGER USER");
    for (std::size_t i = first; i < log.size(); ++i) {
      const auto& e = log[i];
      tx.exec_params("UPDATE events SET recorded_at = 'epoch'::timestamptz + $1 * interval '1 microsecond', "
                     "project_id = $2, version = $3, prev_hash = decode($4, 'hex'), hash = decode($5, 'hex') "
                     "WHERE position = $6",
                     std::int64_t(e.recorded_at.time_since_epoch().count()), to_string(e.project_id), e.version,
                     to_hex(e.prev_hash), to_hex(e.hash), e.position);
    }
    tx.exec("ALTER TABLE events ENABLE TRIGGER USER");
    tx.commit();
  }

  // Events the owner inserts by hand (the trigger lets every role insert; the chain must hold).
  void insert_by_hand(const std::vector<events::RecordedEvent>& log) {
    std::string rows = "[";
    for (const auto& e : log) rows += (rows.size() > 1 ? "," : "") + events::event_json_line(e);
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    tx.exec(events::insert_events_sql(tx, rows + "]"));
    tx.commit();
  }

  // A task whose row the workload created, and its title.
  std::pair<Uuid, std::string> some_task() {
    for (const auto& [_, model] : load_inline())
      for (const auto& [id, task] : model.tasks) return {id, task.title};
    ADD_FAILURE() << "the workload created no task";
    return {};
  }
};

TEST_F(VerifyTest, PassesOnAnHonestDatabase) {
  const VerifyReport report = verify();
  EXPECT_TRUE(report.ok()) << report.describe();
  EXPECT_EQ(report.position, head());
  EXPECT_EQ(report.chain.checked_up_to, head());
  EXPECT_EQ(report.events_folded, std::uint64_t(head()));
  EXPECT_EQ(report.projects, 4u);
  EXPECT_THAT(report.describe(), HasSubstr("ok:"));
}

// A rebuild that swaps its tables in while verify folds: verify must compare its snapshot's log with
// the read models of the same moment. Without its lock the two deadlocked (the swap holding read-
// model tables and waiting for `events`, which a view reads and verify's fold held, verify waiting
// for those tables): PostgreSQL aborted one of them. Now the swap waits for verify (or times out and
// tries again), and both finish clean.
TEST_F(VerifyTest, ARebuildSwappingDuringVerifyIsNoDifference) {
  std::promise<void> folding;
  std::promise<void> go;
  auto go_on = go.get_future().share();
  std::atomic<bool> first{true};
  VerifyOptions options;
  options.progress = [&](std::string_view stage, const auto&) {
    if (stage == "fold" && first.exchange(false)) {
      folding.set_value();
      go_on.wait();
    }
  };
  std::optional<VerifyReport> report;
  std::thread verifying([&] {
    pqxx::connection c(db.conninfo());
    report = verify_log_and_read_models(c, options);
  });
  folding.get_future().wait();
  std::atomic<bool> rebuilt{false};
  std::thread rebuilding([&] {
    rebuild_read_models(db.conninfo());
    rebuilt = true;
  });
  // The rebuild either finishes (the race verify used to lose) or waits for verify's lock.
  ASSERT_TRUE(tasklog::testing::eventually([&] {
    return rebuilt.load() ||
           query_value(db.conninfo(), "SELECT count(*) FROM pg_locks WHERE NOT granted AND database = "
                                        "(SELECT oid FROM pg_database WHERE datname = current_database())") != "0";
  }));
  go.set_value();
  verifying.join();
  rebuilding.join();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->describe();
  EXPECT_TRUE(verify().ok());
}

TEST_F(VerifyTest, NamesTheReadModelRowChangedByHand) {
  const auto [task_id, title] = some_task();
  query_value(db.conninfo(),
              "UPDATE readmodel.tasks SET title = 'changed by hand' WHERE id = '" + to_string(task_id) + "'");

  const VerifyReport report = verify();
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.chain.ok) << "the log itself is intact";
  ASSERT_TRUE(report.difference.has_value());
  EXPECT_EQ(report.difference->table, "tasks");
  EXPECT_EQ(report.difference->row, to_string(task_id));
  EXPECT_EQ(report.difference->field, "title");
  EXPECT_EQ(report.difference->expected, "\"" + title + "\"");
  EXPECT_EQ(report.difference->found, "\"changed by hand\"");
  EXPECT_THAT(report.describe(), HasSubstr("tasks row " + to_string(task_id) + ", field title"));
}

TEST_F(VerifyTest, NamesAReadModelRowDeletedByHand) {
  const std::string message_id = query_value(db.conninfo(), "SELECT id FROM readmodel.task_messages ORDER BY position LIMIT 1");
  ASSERT_FALSE(message_id.empty());
  query_value(db.conninfo(), "DELETE FROM readmodel.task_messages WHERE id = '" + message_id + "'");

  const VerifyReport report = verify();
  ASSERT_TRUE(report.difference.has_value()) << report.describe();
  EXPECT_EQ(report.difference->table, "task_messages");
  EXPECT_EQ(report.difference->row, message_id);
  EXPECT_EQ(report.difference->field, "");
  EXPECT_THAT(report.describe(), HasSubstr("missing (the log has it)"));
}

TEST_F(VerifyTest, FindsAnEventChangedWithTheTriggerDisabled) {
  // A task never renamed later, so the forged title is what the fold ends with.
  const std::string position = query_value(
      db.conninfo(),
      "SELECT position FROM events c WHERE c.type = 'TaskCreated' AND NOT EXISTS ("
      "  SELECT 1 FROM events u WHERE u.stream_id = c.stream_id AND u.type = 'TaskUpdated') ORDER BY position LIMIT 1");
  ASSERT_FALSE(position.empty());
  const std::string task_id = query_value(db.conninfo(), "SELECT stream_id FROM events WHERE position = " + position);
  const std::string title = query_value(db.conninfo(), "SELECT title FROM readmodel.tasks WHERE id = '" + task_id + "'");
  change_event_by_hand(position, "payload = jsonb_set(payload, '{title}', '\"forged\"')");

  const VerifyReport report = verify();
  EXPECT_FALSE(report.ok());
  EXPECT_FALSE(report.chain.ok);
  ASSERT_TRUE(report.chain.first_bad.has_value());
  EXPECT_EQ(*report.chain.first_bad, std::stoll(position));
  EXPECT_THAT(report.describe(), HasSubstr("hash chain broken at position " + position));
  // The fold of the forged log no longer matches what the projector wrote at the time.
  ASSERT_TRUE(report.difference.has_value());
  EXPECT_EQ(report.difference->table, "tasks");
  EXPECT_EQ(report.difference->row, task_id);
  EXPECT_EQ(report.difference->field, "title");
  EXPECT_EQ(report.difference->expected, "\"forged\"");
  EXPECT_EQ(report.difference->found, "\"" + title + "\"");
}

// docs/audit.md: the trigger stops every role while it is on, but the table's owner — no superuser —
// may switch it off, change a row and switch it back (migration 0001's comment says only a
// superuser could); the chain is what finds the change.
TEST_F(VerifyTest, TheTablesOwnerCanDisableTheTriggerAndTheChainFindsTheChange) {
  const std::string owner = "verify_owner_" + db.name();
  query_value(db.conninfo(), "CREATE ROLE " + owner + " LOGIN NOSUPERUSER; ALTER TABLE events OWNER TO " + owner);
  std::string as_owner = db.conninfo();
  as_owner.replace(as_owner.find("user=tasklog"), std::string("user=tasklog").size(), "user=" + owner);
  const std::string position = query_value(db.conninfo(), "SELECT max(position) FROM events");
  const std::string change = "UPDATE events SET metadata = '{\"by\":\"the owner\"}' WHERE position = " + position;
  EXPECT_THROW(query_value(as_owner, change), pqxx::insufficient_privilege);
  query_value(as_owner,
              "ALTER TABLE events DISABLE TRIGGER USER; " + change + "; ALTER TABLE events ENABLE TRIGGER USER");
  EXPECT_EQ(query_value(db.conninfo(), "SELECT metadata->>'by' FROM events WHERE position = " + position), "the owner");
  query_value(db.conninfo(), "ALTER TABLE events OWNER TO tasklog; DROP ROLE " + owner);

  const VerifyReport report = verify();
  ASSERT_TRUE(report.chain.first_bad.has_value()) << report.describe();
  EXPECT_EQ(*report.chain.first_bad, std::stoll(position));
}

TEST_F(VerifyTest, AnEventTheFoldCannotReadIsNamedAndStopsARebuild) {
  const std::string position =
      query_value(db.conninfo(), "SELECT max(position) FROM events WHERE type = 'TaskMessageAppended'");
  ASSERT_FALSE(position.empty());
  change_event_by_hand(position, "type = 'NoSuchEvent'");

  const VerifyReport report = verify();
  EXPECT_FALSE(report.ok());
  ASSERT_TRUE(report.unreadable.has_value());
  EXPECT_EQ(report.unreadable->position(), std::stoll(position));
  EXPECT_THAT(report.describe(), HasSubstr("the event at position " + position + " cannot be folded"));

  // A rebuild cannot fold past it either; the live read models stay as they were.
  const std::string messages = query_value(db.conninfo(), "SELECT count(*) FROM readmodel.task_messages");
  try {
    rebuild_read_models(db.conninfo());
    ADD_FAILURE() << "the rebuild folded an unreadable event";
  } catch (const FoldError& e) {
    EXPECT_EQ(e.position(), std::stoll(position));
  }
  EXPECT_EQ(query_value(db.conninfo(), "SELECT count(*) FROM readmodel.task_messages"), messages);
}

// Row-level security scopes task_dependencies by its own project_id: a row moved to another project
// hides the dependency from the task's members. verify read the dependencies through their task
// and rebuilt the rest from the fold, so it saw nothing; it reads the table's rows now.
TEST_F(VerifyTest, ADependencyRowWithAnotherProjectsIdIsNamed) {
  const std::string row = query_value(db.conninfo(), "SELECT task_id || '/' || ordinal || '/' || project_id FROM "
                                                     "readmodel.task_dependencies ORDER BY task_id, ordinal LIMIT 1");
  ASSERT_FALSE(row.empty()) << "the workload added no dependency";
  const std::string task_id = row.substr(0, 36);
  const std::string ordinal = row.substr(37, row.find('/', 37) - 37);
  const std::string project_id = row.substr(row.rfind('/') + 1);
  const std::string other =
      query_value(db.conninfo(), "SELECT id FROM readmodel.projects WHERE id <> '" + project_id + "' LIMIT 1");
  ASSERT_FALSE(other.empty());
  query_value(db.conninfo(), "UPDATE readmodel.task_dependencies SET project_id = '" + other + "' WHERE task_id = '" +
                                 task_id + "' AND ordinal = " + ordinal);

  const VerifyReport report = verify();
  ASSERT_TRUE(report.difference.has_value()) << report.describe();
  EXPECT_EQ(*report.difference, (Difference{"task_dependencies", task_id + "/" + ordinal, "project_id",
                                             "\"" + project_id + "\"", "\"" + other + "\""}))
      << report.describe();
}

TEST_F(VerifyTest, AnOrphanDependencyRowIsNamed) {
  const std::string project_id = query_value(db.conninfo(), "SELECT id FROM readmodel.projects LIMIT 1");
  const std::string task_id = to_string(derived_uuid("verify:no such task"));
  query_value(db.conninfo(), "INSERT INTO readmodel.task_dependencies (task_id, depends_on, project_id, ordinal) "
                             "VALUES ('" + task_id + "', gen_random_uuid(), '" + project_id + "', 0)");

  const VerifyReport report = verify();
  ASSERT_TRUE(report.difference.has_value()) << report.describe();
  EXPECT_EQ(report.difference->table, "task_dependencies");
  EXPECT_EQ(report.difference->row, task_id + "/0");
  EXPECT_THAT(report.describe(),
              HasSubstr("task_dependencies row " + task_id + "/0: stored, but the log has no such row"));
}

// A member row's ordinal (the last of its project's, so the list's order stays) and a member row of
// no project: load_all kept neither.
TEST_F(VerifyTest, AMemberRowsOrdinalAndAnOrphanMemberRowAreNamed) {
  const std::string row = query_value(db.conninfo(), "SELECT project_id || '/' || user_id || '/' || ordinal FROM "
                                                     "readmodel.project_members ORDER BY ordinal DESC LIMIT 1");
  ASSERT_FALSE(row.empty());
  const std::string key = row.substr(0, 73);
  const std::string ordinal = row.substr(74);
  const std::string where =
      " WHERE project_id = '" + row.substr(0, 36) + "' AND user_id = '" + row.substr(37, 36) + "'";
  query_value(db.conninfo(), "UPDATE readmodel.project_members SET ordinal = ordinal + 10" + where);
  VerifyReport report = verify();
  ASSERT_TRUE(report.difference.has_value()) << report.describe();
  EXPECT_EQ(*report.difference, (Difference{"project_members", key, "ordinal", ordinal,
                                             std::to_string(std::stoll(ordinal) + 10)}))
      << report.describe();

  query_value(db.conninfo(), "UPDATE readmodel.project_members SET ordinal = ordinal - 10" + where);
  ASSERT_TRUE(verify().ok());
  const std::string nowhere = to_string(derived_uuid("verify:no such project"));
  query_value(db.conninfo(), "INSERT INTO readmodel.project_members (project_id, user_id, role, added_at, ordinal) "
                             "VALUES ('" + nowhere + "', gen_random_uuid(), 'viewer', now(), 0)");
  report = verify();
  ASSERT_TRUE(report.difference.has_value()) << report.describe();
  EXPECT_EQ(report.difference->table, "project_members");
  EXPECT_EQ(report.difference->row.substr(0, 36), nowhere);
  EXPECT_THAT(report.describe(), HasSubstr("stored, but the log has no such row"));
}

// Time moved back at one event and the chain re-hashed from there: every hash holds, but import
// refuses such a log (replay --at TIME takes a prefix of it), and so does verify, at that position.
TEST_F(VerifyTest, TimeGoingBackAlongTheLogIsFoundEvenWhenReHashed) {
  auto log = all_events(db.conninfo());
  const std::size_t k = log.size() / 2;
  log[k].recorded_at = log[k - 1].recorded_at - std::chrono::seconds(1);
  rehash_from(log, k);
  rewrite_by_hand(log, k);

  const VerifyReport report = verify();
  EXPECT_FALSE(report.ok());
  EXPECT_FALSE(report.chain.ok);
  ASSERT_TRUE(report.chain.first_bad.has_value()) << report.describe();
  EXPECT_EQ(*report.chain.first_bad, log[k].position);
  EXPECT_EQ(report.chain.checked_up_to, log[k - 1].position);
  EXPECT_THAT(report.describe(),
              HasSubstr("log out of order at position " + std::to_string(log[k].position) + ": recorded_at goes back"));
}

// A stream's last event a version further on (re-hashed): the table's key cannot see a gap, import
// refuses it, and so does verify.
TEST_F(VerifyTest, AStreamVersionSkippedIsFoundEvenWhenReHashed) {
  auto log = all_events(db.conninfo());
  std::size_t k = log.size() / 2;
  auto later_in_its_stream = [&](std::size_t i) {
    return std::any_of(log.begin() + std::ptrdiff_t(i) + 1, log.end(),
                       [&](const auto& e) { return e.stream_id == log[i].stream_id; });
  };
  while (later_in_its_stream(k)) ++k;
  const std::int64_t version = log[k].version;
  log[k].version = version + 1;
  rehash_from(log, k);
  rewrite_by_hand(log, k);

  const VerifyReport report = verify();
  ASSERT_TRUE(report.chain.first_bad.has_value()) << report.describe();
  EXPECT_EQ(*report.chain.first_bad, log[k].position);
  EXPECT_THAT(report.describe(), HasSubstr("log out of order at position " + std::to_string(log[k].position) +
                                           ": stream " + to_string(log[k].stream_id) + " goes from version " +
                                           std::to_string(version - 1) + " to " + std::to_string(version + 1)));
}

// An event's project column moved to another project and the chain re-hashed: the fold by the
// columns (verify, rebuild) and import's by the payload would place it apart; verify names it.
TEST_F(VerifyTest, ColumnsThatDisagreeWithThePayloadAreFoundEvenWhenReHashed) {
  auto log = all_events(db.conninfo());
  const std::size_t k = log.size() / 2;
  const auto other = std::ranges::find_if(log, [&](const auto& e) { return e.project_id != log[k].project_id; });
  ASSERT_NE(other, log.end()) << "the workload made one project";
  log[k].project_id = other->project_id;
  rehash_from(log, k);
  rewrite_by_hand(log, k);

  const VerifyReport report = verify();
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.chain.ok) << report.describe();
  ASSERT_TRUE(report.unreadable.has_value()) << report.describe();
  EXPECT_EQ(report.unreadable->position(), log[k].position);
  EXPECT_THAT(report.describe(), HasSubstr("its columns disagree with its payload: project_id is " +
                                           to_string(other->project_id)));
}

// A message id the log repeats (the event appended again by hand, with an id and version of its
// own, chained: no check of the log sees it): verify names the table and the id — it used to read
// past the end of the stored messages — and a rebuild names the event instead of failing on the
// table's key, leaving the live read models as they were.
TEST_F(VerifyTest, AMessageIdTheLogRepeatsIsNamedAndStopsARebuild) {
  const auto log = all_events(db.conninfo());
  const auto message = std::ranges::find(log, std::string("TaskMessageAppended"), &events::RecordedEvent::type);
  ASSERT_NE(message, log.end()) << "the workload appended no message";
  const std::string message_id = to_string(std::get<TaskMessageAppended>(decode_recorded(*message)).message_id);
  const events::RecordedEvent again = appended_again(log, *message);
  insert_by_hand({again});
  // The task row as the event moves it on, so that only the message rows differ.
  query_value(db.conninfo(), "UPDATE readmodel.tasks SET message_count = message_count + 1, version = " +
                                 std::to_string(again.version) + ", updated_at = '" +
                                 format_timestamp(again.recorded_at) + "' WHERE id = '" + to_string(again.stream_id) +
                                 "'");

  const VerifyReport report = verify();
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.chain.ok) << report.describe();
  ASSERT_TRUE(report.difference.has_value()) << report.describe();
  EXPECT_EQ(*report.difference, (Difference{"task_messages", message_id, "(rows with this id)", "2", "1"}));

  const std::string messages = query_value(db.conninfo(), "SELECT count(*) FROM readmodel.task_messages");
  try {
    rebuild_read_models(db.conninfo());
    ADD_FAILURE() << "the rebuild folded a repeated message id";
  } catch (const FoldError& e) {
    EXPECT_EQ(e.position(), again.position);
    EXPECT_THAT(e.what(), HasSubstr("creates task_messages row " + message_id + ", which the event at position " +
                                    std::to_string(message->position) + " created already"));
  }
  EXPECT_EQ(query_value(db.conninfo(), "SELECT count(*) FROM readmodel.task_messages"), messages);
}

}  // namespace
}  // namespace tasklog::projections::testing
