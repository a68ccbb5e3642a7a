// /v1 records over real HTTP: a task's artifacts and messages, a project's checkpoints and
// decisions — created (201 with position and version), listed oldest first by position cursor,
// and their refusals with the log unchanged.
#include "tests/api/routes_fixture.hpp"

namespace tasklog::testing {
namespace {

class RecordRoutesTest : public RoutesTest {
 protected:
  void SetUp() override {
    RoutesTest::SetUp();
    project = create_project(*alice);
    task = create_task(*alice, project);
  }
  std::string project, task;
};

TEST_F(RecordRoutesTest, ArtifactsAreAppendedAndListedInPages) {
  for (int i = 0; i < 3; ++i) {
    const auto r = alice->post("/v1/tasks/" + task + "/artifacts",
                               R"({"type":"diff","ref":"commit )" + std::to_string(i) +
                                   R"(","summary":"change","content":"+ line"})");
    ASSERT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(str_at(r, "/data/type"), "diff");
    EXPECT_EQ(str_at(r, "/data/task_id"), task);
    EXPECT_EQ(str_at(r, "/data/content"), "+ line");
    EXPECT_EQ(int_at(r, "/position"), head());
    EXPECT_EQ(int_at(r, "/data/position"), head());
    EXPECT_EQ(int_at(r, "/version"), 2 + i);  // the task's stream: created, then one per artifact
  }
  const auto page1 = alice->get("/v1/tasks/" + task + "/artifacts?limit=2");
  ASSERT_EQ(page1.status, 200u) << page1.body;
  EXPECT_EQ(size_at(page1, "/data"), 2);
  EXPECT_EQ(str_at(page1, "/data/0/ref"), "commit 0");
  const auto page2 = alice->get("/v1/tasks/" + task + "/artifacts?limit=2&cursor=" + str_at(page1, "/next_cursor"));
  ASSERT_EQ(page2.status, 200u) << page2.body;
  EXPECT_EQ(size_at(page2, "/data"), 1);
  EXPECT_EQ(str_at(page2, "/data/0/ref"), "commit 2");
  EXPECT_TRUE(is_null_at(page2, "/next_cursor"));
  EXPECT_EQ(size_at(alice->get("/v1/tasks/" + task), "/data/artifacts"), 3);

  const auto before = head();
  const auto bad = alice->post("/v1/tasks/" + task + "/artifacts", R"({"type":"movie","summary":"x"})");
  EXPECT_EQ(bad.status, 422u) << bad.body;
  EXPECT_EQ(alice->post("/v1/tasks/" + task + "/artifacts", R"({"summary":"x"})").status, 422u);
  EXPECT_EQ(head(), before);
}

TEST_F(RecordRoutesTest, Messages) {
  const auto r = alice->post("/v1/tasks/" + task + "/messages", R"({"role":"assistant","content":"on it"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(str_at(r, "/data/role"), "assistant");
  EXPECT_EQ(str_at(r, "/data/content"), "on it");
  ASSERT_EQ(alice->post("/v1/tasks/" + task + "/messages", R"({"role":"user","content":"thanks"})").status, 201u);
  const auto list = alice->get("/v1/tasks/" + task + "/messages");
  ASSERT_EQ(list.status, 200u) << list.body;
  EXPECT_EQ(size_at(list, "/data"), 2);
  EXPECT_EQ(str_at(list, "/data/1/content"), "thanks");
  EXPECT_EQ(int_at(alice->get("/v1/tasks/" + task), "/data/message_count"), 2);

  const auto before = head();
  EXPECT_EQ(alice->post("/v1/tasks/" + task + "/messages", R"({"role":"robot","content":"x"})").status, 422u);
  EXPECT_EQ(alice->post("/v1/tasks/" + task + "/messages", R"({"role":"user","content":42})").status, 400u);
  EXPECT_EQ(head(), before);
}

TEST_F(RecordRoutesTest, CheckpointsAreCreatedListedAndReadById) {
  const auto r = alice->post("/v1/projects/" + project + "/checkpoints",
                             R"({"label":"before refactor","summary":"all green","repo_ref":"abc123",)"
                             R"("resume_instructions":"run make","task_id":")" + task + R"("})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto id = str_at(r, "/data/id");
  EXPECT_EQ(str_at(r, "/data/label"), "before refactor");
  EXPECT_EQ(str_at(r, "/data/task_id"), task);
  EXPECT_EQ(size_at(r, "/data/tasks"), 1);
  EXPECT_EQ(int_at(r, "/position"), head());

  const auto got = alice->get("/v1/checkpoints/" + id);
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(str_at(got, "/data/repo_ref"), "abc123");
  EXPECT_EQ(alice->get("/v1/checkpoints/00000000-0000-4000-8000-000000000000").status, 404u);
  EXPECT_EQ(alice->get("/v1/checkpoints/xyz").status, 400u);

  const auto list = alice->get("/v1/projects/" + project + "/checkpoints");
  ASSERT_EQ(list.status, 200u);
  EXPECT_EQ(size_at(list, "/data"), 1);

  const auto before = head();
  EXPECT_EQ(alice->post("/v1/projects/" + project + "/checkpoints", R"({"label":"no summary"})").status, 422u);
  EXPECT_EQ(alice->post("/v1/projects/" + project + "/checkpoints",
                        R"({"label":"l","summary":"s","task_id":"00000000-0000-4000-8000-000000000000"})")
                .status,
            404u);
  EXPECT_EQ(head(), before);
}

TEST_F(RecordRoutesTest, DecisionsAndSupersession) {
  const auto first = alice->post("/v1/projects/" + project + "/decisions",
                                 R"({"title":"database","options":["postgres","sqlite"],"choice":"postgres",)"
                                 R"("rationale":"concurrency"})");
  ASSERT_EQ(first.status, 201u) << first.body;
  const auto first_id = str_at(first, "/data/id");
  const auto second = alice->post("/v1/projects/" + project + "/decisions",
                                  R"({"title":"database v2","choice":"postgres 15","rationale":"RLS",)"
                                  R"("supersedes":")" + first_id + R"("})");
  ASSERT_EQ(second.status, 201u) << second.body;
  EXPECT_EQ(str_at(second, "/data/supersedes"), first_id);

  const auto list = alice->get("/v1/projects/" + project + "/decisions");
  ASSERT_EQ(list.status, 200u) << list.body;
  ASSERT_EQ(size_at(list, "/data"), 2);
  EXPECT_EQ(str_at(list, "/data/0/superseded_by"), str_at(second, "/data/id"));

  const auto before = head();
  EXPECT_EQ(alice->post("/v1/projects/" + project + "/decisions",
                        R"({"title":"t","options":["a","b"],"choice":"c","rationale":"r"})")
                .status,
            422u);
  EXPECT_EQ(head(), before);
}

}  // namespace
}  // namespace tasklog::testing
