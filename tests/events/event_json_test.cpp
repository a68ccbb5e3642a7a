// The export line of an event and the log digest, as text: an event survives the round trip with
// every column (so its hash can be recomputed from the line), and lines or digests that are not
// exactly that shape are refused with the member at fault.
#include "events/canonical.hpp"
#include "events/event_json.hpp"
#include "events/log_digest.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tasklog::events {
namespace {

using ::testing::HasSubstr;

RecordedEvent sample() {
  RecordedEvent e;
  e.position = 7;
  e.event_id = derived_uuid("event");
  e.stream_id = derived_uuid("stream");
  e.stream_type = "task";
  e.version = 3;
  e.project_id = derived_uuid("project");
  e.task_id = derived_uuid("task");
  e.actor_id = derived_uuid("actor");
  e.type = "TaskUpdated";
  e.schema_version = 2;
  e.payload = R"({"title": "é \"quoted\"", "n": 1.5, "a": [1, null]})";  // jsonb's spacing, not canonical
  e.metadata = R"({"agent":"a-1"})";
  e.recorded_at = Timestamp(std::chrono::microseconds(1763798400123456));
  e.prev_hash = sha256("previous");
  e.hash = chain_hash(e.prev_hash, canonicalized(e));
  return e;
}

TEST(EventJsonTest, ALineReadsBackAsTheSameEventWithItsHash) {
  const RecordedEvent e = sample();
  const std::string line = event_json_line(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, HasSubstr(R"("payload":{"a":[1,null],"n":1.5,"title":"é \"quoted\""})"));
  const RecordedEvent back = parse_event_json_line(line);
  const RecordedEvent canonical = canonicalized(e);
  EXPECT_EQ(back.position, e.position);
  EXPECT_EQ(back.event_id, e.event_id);
  EXPECT_EQ(back.stream_id, e.stream_id);
  EXPECT_EQ(back.stream_type, e.stream_type);
  EXPECT_EQ(back.version, e.version);
  EXPECT_EQ(back.project_id, e.project_id);
  EXPECT_EQ(back.task_id, e.task_id);
  EXPECT_EQ(back.actor_id, e.actor_id);
  EXPECT_EQ(back.type, e.type);
  EXPECT_EQ(back.schema_version, e.schema_version);
  EXPECT_EQ(back.payload, canonical.payload);
  EXPECT_EQ(back.metadata, canonical.metadata);
  EXPECT_EQ(back.recorded_at, e.recorded_at);
  EXPECT_EQ(back.prev_hash, e.prev_hash);
  EXPECT_EQ(back.hash, e.hash);
  EXPECT_EQ(chain_hash(back.prev_hash, back), e.hash);
  EXPECT_EQ(event_json_line(back), line);

  RecordedEvent no_task = e;
  no_task.task_id.reset();
  EXPECT_FALSE(parse_event_json_line(event_json_line(no_task)).task_id.has_value());
}

TEST(EventJsonTest, LinesOfAnotherShapeAreRefusedNamingTheMember) {
  const std::string line = event_json_line(sample());
  auto refused = [](const std::string& text) {
    try {
      parse_event_json_line(text);
    } catch (const EventJsonError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = line;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  EXPECT_THAT(refused("{"), HasSubstr("not JSON"));
  EXPECT_THAT(refused("[]"), HasSubstr("not a JSON object"));
  EXPECT_THAT(refused(replaced("\"position\":7,", "")), HasSubstr("\"position\" is missing"));
  EXPECT_THAT(refused(replaced("\"position\":7", "\"position\":\"7\"")), HasSubstr("\"position\" must be an integer"));
  EXPECT_THAT(refused(replaced("\"stream_type\"", "\"kind\"")), HasSubstr("unknown member \"kind\""));
  EXPECT_THAT(refused(replaced("\"metadata\":{", "\"metadata\":[{")), HasSubstr("not JSON"));
  EXPECT_THAT(refused(replaced("\"metadata\":{\"agent\":\"a-1\"}", "\"metadata\":\"x\"")),
              HasSubstr("\"metadata\" must be a JSON object"));
  EXPECT_THAT(refused(replaced("\"schema_version\":2", "\"schema_version\":40000")), HasSubstr("out of range"));
  const std::string hash = "\"hash\":\"";
  EXPECT_THAT(refused(replaced(hash, hash + "zz")), HasSubstr("\"hash\" must be 64 hex digits"));
  EXPECT_THAT(refused(replaced(to_string(derived_uuid("actor")), "nobody")), HasSubstr("\"actor_id\" must be a UUID"));
}

TEST(LogDigestTest, JsonRoundTripAndRefusals) {
  const LogDigest digest{.position = 812, .hash = sha256("head")};
  const std::string text = digest_json(digest);
  EXPECT_EQ(text, R"({"position":812,"hash":")" + to_hex(digest.hash) + R"("})");
  EXPECT_EQ(parse_digest_json(text + "\n"), digest);
  EXPECT_THROW(parse_digest_json("812"), std::invalid_argument);
  EXPECT_THROW(parse_digest_json(R"({"hash":")" + to_hex(digest.hash) + R"("})"), std::invalid_argument);
  EXPECT_THROW(parse_digest_json(R"({"position":-1,"hash":")" + to_hex(digest.hash) + R"("})"), std::invalid_argument);
  EXPECT_THROW(parse_digest_json(R"({"position":1,"hash":"abc"})"), std::invalid_argument);
  EXPECT_THROW(parse_digest_json("not json"), std::invalid_argument);
}

// Export's end line: the digest of the last event written, under "end"; an event line is not one.
TEST(LogDigestTest, ExportEndLineRoundTripsAndIsToldFromAnEventLine) {
  const LogDigest last{.position = 812, .hash = sha256("head")};
  const std::string line = export_end_line(last);
  EXPECT_EQ(line, R"({"end":)" + digest_json(last) + "}");
  EXPECT_EQ(parse_export_end_line(line), last);
  EXPECT_EQ(parse_export_end_line(export_end_line({})), LogDigest{});
  RecordedEvent e;
  e.payload = "{}";
  e.metadata = "{}";
  EXPECT_FALSE(parse_export_end_line(event_json_line(e)).has_value());
  EXPECT_THROW(parse_export_end_line(R"({"end":{"position":1}})"), std::invalid_argument);
  EXPECT_THROW(parse_export_end_line(R"({"end":)" + digest_json(last) + R"(,"more":1})"), std::invalid_argument);
  EXPECT_THROW(parse_export_end_line(R"({"end":)"), std::invalid_argument);
}

}  // namespace
}  // namespace tasklog::events
