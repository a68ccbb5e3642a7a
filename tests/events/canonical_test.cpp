// The canonical encoding and the hash chain, byte for byte. The expected values were computed
// independently (Python's struct + hashlib) from the layout documented in events/canonical.hpp;
// if this test fails, every stored hash in every existing log would stop verifying.
#include "events/canonical.hpp"

#include "core/sha256.hpp"

#include <gtest/gtest.h>

namespace tasklog::events {
namespace {

RecordedEvent sample() {
  RecordedEvent e;
  e.position = 7;
  e.event_id = *parse_uuid("11111111-2222-4333-8444-555555555555");
  e.stream_id = *parse_uuid("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
  e.stream_type = "task";
  e.version = 3;
  e.project_id = *parse_uuid("01234567-89ab-4cde-8f01-23456789abcd");
  e.task_id = *parse_uuid("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
  e.actor_id = *parse_uuid("fedcba98-7654-4321-8fed-cba987654321");
  e.type = "TaskClaimed";
  e.schema_version = 2;
  e.payload = R"({"agent":"a1","lease_seconds":30})";
  e.metadata = "{}";
  e.recorded_at = Timestamp(std::chrono::microseconds(1767225600123456));
  return e;
}

std::string hex(const std::string& bytes) {
  return to_hex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

TEST(CanonicalEncoding, MatchesTheDocumentedLayoutByteForByte) {
  EXPECT_EQ(hex(canonical_bytes(sample())),
            "01000000000000000711111111222243338444555555555555aaaaaaaabbbb4ccc8dddeeeeeeeeeeee000000047461736b000000"
            "00000000030123456789ab4cde8f0123456789abcd01aaaaaaaabbbb4ccc8dddeeeeeeeeeeeefedcba98765443218fedcba98765"
            "43210000000b5461736b436c61696d65640002000000217b226167656e74223a226131222c226c656173655f7365636f6e6473"
            "223a33307d000000027b7d0006474846222240");
}

TEST(CanonicalEncoding, AbsentTaskIdIsAZeroFlagWithoutBytes) {
  auto with = sample();
  auto without = sample();
  without.task_id.reset();
  EXPECT_EQ(canonical_bytes(with).size(), canonical_bytes(without).size() + 16);
}

TEST(HashChain, FirstEventChainsFromThirtyTwoZeroBytes) {
  EXPECT_EQ(to_hex(chain_hash(kGenesisHash, sample())),
            "abb73bb8858e8c3dabdbd1021278d5d2263b4a971554d9cf37d73d128d61a27e");
}

TEST(HashChain, DependsOnThePreviousHash) {
  Sha256Digest prev;
  prev.fill(0xab);
  EXPECT_EQ(to_hex(chain_hash(prev, sample())), "98ef3aa1f47aab82d7c50653c171a9239bdbd394215fbadea6035464bf570363");
}

TEST(HashChain, EveryFieldIsCovered) {
  const auto base = chain_hash(kGenesisHash, sample());
  std::vector<std::function<void(RecordedEvent&)>> changes = {
      [](auto& e) { e.position++; },
      [](auto& e) { e.event_id.data[15] ^= 1; },
      [](auto& e) { e.stream_id.data[0] ^= 1; },
      [](auto& e) { e.stream_type = "project"; },
      [](auto& e) { e.version++; },
      [](auto& e) { e.project_id.data[3] ^= 1; },
      [](auto& e) { e.task_id.reset(); },
      [](auto& e) { e.actor_id.data[9] ^= 1; },
      [](auto& e) { e.type = "TaskReleased"; },
      [](auto& e) { e.schema_version = 1; },
      [](auto& e) { e.payload = R"({"agent":"a2","lease_seconds":30})"; },
      [](auto& e) { e.metadata = R"({"k":1})"; },
      [](auto& e) { e.recorded_at += std::chrono::microseconds(1); },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    auto e = sample();
    changes[i](e);
    EXPECT_NE(chain_hash(kGenesisHash, e), base) << "change #" << i << " is not covered by the hash";
  }
}

TEST(HashChain, LengthPrefixesKeepFieldBoundariesApart) {
  // Moving a character from type into stream_type must not give the same bytes.
  auto a = sample();
  auto b = sample();
  a.stream_type = "taskT";
  a.type = "askClaimed";
  b.stream_type = "task";
  b.type = "TaskClaimed";
  EXPECT_NE(canonical_bytes(a), canonical_bytes(b));
}

TEST(HashChain, JsonbReprintingDoesNotChangeTheHash) {
  // What PostgreSQL returns for a jsonb column: keys reordered, spaces added.
  auto stored = sample();
  stored.payload = R"({"agent": "a1", "lease_seconds": 30})";
  stored.metadata = "{}";
  EXPECT_EQ(chain_hash(kGenesisHash, canonicalized(stored)), chain_hash(kGenesisHash, sample()));
}

}  // namespace
}  // namespace tasklog::events
