#include "core/codec.hpp"

#include "core/json.hpp"
#include "domain_world.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

const Uuid P = named_id("project"), T = named_id("task"), U = named_id("user"), X = named_id("x"), Y = named_id("y");

ProjectRules full_rules() {
  ProjectRules r;
  r.gates = {{GateKind::has_artifacts, 3, ""}, {GateKind::custom, 1, "lint"}};
  r.scope = {{"src/**"}, {"src/secret/**"}};
  r.max_attempts = 5;
  r.default_lease_seconds = 900;
  return r;
}

// One of every event, every optional member set, so a round trip exercises every field.
std::vector<DomainEvent> every_event() {
  const Timestamp t1 = kT0 + 1500ms;
  return {
      ProjectCreated{P, "name", "desc \"quoted\" \u00e9", full_rules(), U},
      ProjectUpdated{P, "new", "new desc", full_rules()},
      ProjectArchived{P, "done with it"},
      ProjectMemberAdded{P, U, Role::viewer},
      ProjectMemberRemoved{P, U},
      CheckpointCreated{P, X, T, "label", "summary", "abc123", "resume here", 42,
                        {{T, TaskStatus::in_progress}, {Y, TaskStatus::done}}},
      DecisionRecorded{P, X, T, "title", {"a", "b"}, "b", "because", Y},
      DecisionSuperseded{P, Y, X, T},
      TaskCreated{P, T, "title", "desc", "bug", Priority::critical, {"c1", "c2"}, {"k1"}, {X, Y}, X, 3600},
      TaskUpdated{P, T, "t", "d", "chore", Priority::low, std::vector<std::string>{"n1"}, std::vector<std::string>{"k"}, 60},
      TaskDependencyAdded{P, T, X},
      TaskDependencyRemoved{P, T, X},
      TaskClaimed{P, T, "agent-7", X, t1, 2},
      TaskLeaseExtended{P, T, X, t1 + 60s},
      TaskReleased{P, T, X, "handing over"},
      TaskBlocked{P, T, "need creds", true},
      TaskUnblocked{P, T, "creds added"},
      TaskCriterionMet{P, T, 1, "see CI run 5"},
      TaskGatesEvaluated{P, T, {{"lint", GateKind::custom, true, "reported passed"}}, true},
      TaskScopeAsserted{P, T, {"src/a"}, {"src/b"}, {"docs/c"}, false,
                        {{"docs/c", ScopeViolationReason::outside_allowed, ""}}},
      TaskCompleted{P, T, X, "all done", {X, Y}},
      TaskAttemptFailed{P, T, X, "compile error", 2, t1 + 60s, false},
      TaskLeaseExpired{P, T, X, "agent-7", t1, 3, true},
      TaskCancelled{P, T, "obsolete"},
      TaskReopened{P, T, "regression"},
      TaskMessageAppended{P, T, X, MessageRole::assistant, "hello\nworld"},
      TaskGitInfoRecorded{P, T, GitInfo{"feat/x", "main", 17, "https://example/pr/17", "0123abcd"}},
      TaskUsageRecorded{P, T, 12345, 0.125},
      ArtifactAppended{P, T, X, ArtifactType::test_report, "ci://run/5", "tests", "ok 12/12", 8},
  };
}

}  // namespace

TEST(Codec, SamplesCoverEveryEventType) {
  std::set<std::size_t> seen;
  for (const DomainEvent& e : every_event()) seen.insert(e.index());
  EXPECT_EQ(seen.size(), std::variant_size_v<DomainEvent>);
}

TEST(Codec, EveryEventRoundTrips) {
  for (const DomainEvent& event : every_event()) {
    SCOPED_TRACE(std::string(event_type_name(event)));
    const std::string payload = encode_event(event);
    const DomainEvent back = decode_event(event_type_name(event), payload);
    EXPECT_EQ(back, event);
    EXPECT_EQ(encode_event(back), payload);
  }
}

TEST(Codec, EveryEventRoundTripsWithOptionalsEmpty) {
  const std::vector<DomainEvent> sparse{
      ProjectUpdated{P, std::nullopt, std::nullopt, std::nullopt},
      CheckpointCreated{P, X, std::nullopt, "l", "s", "", "", 0, {}},
      DecisionRecorded{P, X, std::nullopt, "t", {}, "c", "r", std::nullopt},
      TaskCreated{P, T, "t", "", "task", Priority::medium, {}, {}, {}, std::nullopt, std::nullopt},
      TaskUpdated{P, T, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt},
      TaskAttemptFailed{P, T, X, "e", 3, std::nullopt, true},
      TaskGitInfoRecorded{P, T, GitInfo{}},
      ArtifactAppended{P, T, X, ArtifactType::diff, "", "s", std::nullopt, 0},
  };
  for (const DomainEvent& event : sparse) {
    SCOPED_TRACE(std::string(event_type_name(event)));
    EXPECT_EQ(decode_event(event_type_name(event), encode_event(event)), event);
  }
}

TEST(Codec, PayloadUsesStableNamesAndFormats) {
  const DomainEvent e = TaskClaimed{P, T, "agent-7", X, kT0 + 1500ms, 2};
  EXPECT_EQ(event_type_name(e), "TaskClaimed");
  EXPECT_EQ(event_schema_version(e), 2);
  EXPECT_EQ(encode_event(e),
            R"({"agent":"agent-7","attempt":2,"expires_at":"2024-05-01T09:00:01.500000Z","lease_id":")" +
                to_string(X) + R"(","project_id":")" + to_string(P) + R"(","task_id":")" + to_string(T) + R"("})");
}

// Version 1 of the lease events carried the holder's token; the log keeps those payloads (its hash
// chain covers them) where every member reads them, so they read as version 2 with that token as
// the lease's id: burnt, since no token fingerprints to it.
TEST(Codec, LeaseEventsOfVersionOneReadTheirTokenAsABurntId) {
  const std::string ids = R"("project_id":")" + to_string(P) + R"(","task_id":")" + to_string(T) + R"(")";
  const std::string token = R"("lease_token":")" + to_string(X) + R"(")";
  const std::vector<std::pair<std::string, std::string>> v1{
      {"TaskClaimed", R"({"agent":"a","attempt":1,"expires_at":"2024-05-01T09:00:00Z",)" + token + "," + ids + "}"},
      {"TaskLeaseExtended", R"({"expires_at":"2024-05-01T09:00:00Z",)" + token + "," + ids + "}"},
      {"TaskReleased", R"({"reason":"r",)" + token + "," + ids + "}"},
      {"TaskCompleted", R"({"summary":"s","artifact_ids":[],)" + token + "," + ids + "}"},
      {"TaskAttemptFailed", R"({"error":"e","attempt":1,"gave_up":false,)" + token + "," + ids + "}"},
      {"TaskLeaseExpired", R"({"agent":"a","attempt":1,"expired_at":"2024-05-01T09:00:00Z","gave_up":false,)" + token +
                               "," + ids + "}"},
  };
  for (const auto& [type, payload] : v1) {
    SCOPED_TRACE(type);
    rapidjson::Document doc;
    doc.Parse(payload.c_str());
    ASSERT_FALSE(doc.HasParseError());
    const DomainEvent event = decode_event(type, 1, doc);
    const Uuid id = std::visit([](const auto& e) -> Uuid {
      if constexpr (requires { e.lease_id; }) return e.lease_id;
      else return Uuid{};
    }, event);
    EXPECT_EQ(id, X);
    EXPECT_NE(lease_id_of(X), X);  // the token no longer matches the lease it names
    EXPECT_EQ(encode_event(event).find("lease_token"), std::string::npos);
    // As version 2 the same payload lacks its lease_id: refused, never read as a token.
    EXPECT_EQ(refusal([&] { decode_event(type, 2, doc); }).code(), ErrorCode::validation_failed);
  }
  rapidjson::Document bad;
  bad.Parse((R"({"agent":"a","attempt":1,"expires_at":"2024-05-01T09:00:00Z","lease_token":"not-a-uuid",)" + ids + "}").c_str());
  EXPECT_EQ(str(details(refusal([&] { decode_event("TaskClaimed", 1, bad); }))["path"]), "/lease_token");
}

// The fingerprint is SHA-256 of the token's 16 bytes, cut to 16 bytes: pinned, since the log
// records it (a change would orphan every lease held across it).
TEST(Codec, ALeaseIdIsTheTokensSha256CutToSixteenBytes) {
  const Uuid token = parse_uuid("00112233-4455-6677-8899-aabbccddeeff").value();
  // printf '\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff' | sha256sum
  //   a8faed6abbf35c12a4b26e40f6feb19d736d90045c83b9f9a31f638d323e6811
  EXPECT_EQ(to_string(lease_id_of(token)), "a8faed6a-bbf3-5c12-a4b2-6e40f6feb19d");
}

TEST(Codec, UnknownTypeIsRefused) {
  const DomainError e = refusal([] { decode_event("TaskTeleported", std::string_view("{}")); });
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(str(details(e)["type"]), "TaskTeleported");
}

TEST(Codec, NewerSchemaVersionIsRefused) {
  rapidjson::Document doc;
  doc.Parse(encode_event(TaskCancelled{P, T, "x"}).c_str());
  const DomainError e = refusal([&] { decode_event("TaskCancelled", 2, doc); });
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(details(e)["schema_version"].GetInt(), 2);
}

TEST(Codec, BadPayloadNamesThePath) {
  const std::string bad = R"({"project_id":")" + to_string(P) + R"(","task_id":")" + to_string(T) +
                          R"(","results":[{"gate":"g","kind":"telepathy","passed":true,"detail":""}],"passed":true})";
  const DomainError e = refusal([&] { decode_event("TaskGatesEvaluated", bad); });
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(str(details(e)["path"]), "/results/0/kind");
  EXPECT_EQ(str(details(e)["expected"]), "a gate_kind");
}

TEST(Codec, MissingRequiredMemberIsRefused) {
  const DomainError e = refusal([] { decode_event("TaskCancelled", std::string_view(R"({"reason":"x"})")); });
  EXPECT_EQ(str(details(e)["path"]), "/project_id");
}

TEST(Codec, UnknownMembersAreIgnoredForForwardCompatibility) {
  const std::string payload = R"({"project_id":")" + to_string(P) + R"(","task_id":")" + to_string(T) +
                              R"(","reason":"r","added_in_v2":true})";
  EXPECT_EQ(decode_event("TaskCancelled", payload), DomainEvent(TaskCancelled{P, T, "r"}));
}

TEST(Codec, RowPartsHaveAJsonFormToo) {
  const Lease lease{X, "a", kT0, kT0 + 60s, 2};
  const std::string text = to_json_text(lease);
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_EQ(from_json_value<Lease>(doc), lease);
  EXPECT_EQ(to_json_text(std::vector<GateResult>{{"g", GateKind::has_docs, false, "no"}}),
            R"([{"gate":"g","kind":"has_docs","passed":false,"detail":"no"}])");
}

TEST(Codec, RoutesFollowTheStreams) {
  EXPECT_EQ(route(ProjectMemberAdded{P, U, Role::member}), (EventRoute{P, StreamType::project, P, std::nullopt}));
  EXPECT_EQ(route(DecisionRecorded{P, X, T, "t", {}, "c", "r", std::nullopt}), (EventRoute{P, StreamType::project, P, T}));
  EXPECT_EQ(route(ArtifactAppended{P, T, X, ArtifactType::pr, "", "", std::nullopt, 0}),
            (EventRoute{T, StreamType::task, P, T}));
  EXPECT_EQ(stream_type_name(StreamType::project), "project");
  EXPECT_EQ(stream_type_name(StreamType::task), "task");
  for (const DomainEvent& e : every_event()) {
    SCOPED_TRACE(std::string(event_type_name(e)));
    const EventRoute r = route(e);
    EXPECT_EQ(r.project_id, P);
    EXPECT_EQ(r.stream_id, r.stream_type == StreamType::project ? P : T);
  }
}
