// Canonical JSON is what the hash chain and idempotency comparisons stand on.
#include "core/error.hpp"
#include "core/json.hpp"

#include <gtest/gtest.h>

namespace tasklog {
namespace {

TEST(CanonicalJson, SortsKeysAndDropsWhiteSpace) {
  EXPECT_EQ(canonical_json(R"( { "b" : 1, "a" : [ true, null, "x" ], "c": {"z":1,"y":2} } )"),
            R"({"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}})");
}

TEST(CanonicalJson, DuplicateKeyKeepsTheLastValueAsJsonbDoes) {
  EXPECT_EQ(canonical_json(R"({"a":1,"a":2})"), R"({"a":2})");
}

TEST(CanonicalJson, IsIdempotentAndStableForNumbers) {
  for (const char* text : {R"({"n":1.5})", R"({"n":-0.0})", R"({"n":1e300})", R"({"n":12345678901234567890123})",
                           R"({"n":100.0})", R"({"n":-9223372036854775808})", R"({"n":18446744073709551615})"}) {
    const auto once = canonical_json(text);
    EXPECT_EQ(canonical_json(once), once) << text;
  }
  EXPECT_EQ(canonical_json(R"({"n":-0.0})"), R"({"n":0.0})");
}

TEST(CanonicalJson, KeepsUnicodeAndEscapesControlCharacters) {
  EXPECT_EQ(canonical_json("{\"s\":\"caf\\u00e9 \\n\"}"), "{\"s\":\"caf\xc3\xa9 \\n\"}");
}

TEST(ParseJson, RejectsMalformedTextWithAnOffset) {
  rapidjson::Document doc;
  try {
    parse_json(R"({"a":)", doc);
    FAIL() << "expected an error";
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::malformed_json);
    EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos);
  }
  EXPECT_THROW(parse_json(R"({"a":1} x)", doc), DomainError);
}

TEST(ParseJson, EnforcesDepthStringLengthAndRefusesNul) {
  rapidjson::Document doc;
  std::string deep(100, '[');
  deep += std::string(100, ']');
  try {
    parse_json(deep, doc, JsonLimits{.max_depth = 64});
    FAIL();
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  }
  EXPECT_THROW(parse_json(R"({"s":"abcdef"})", doc, JsonLimits{.max_string_bytes = 3}), DomainError);
  EXPECT_THROW(parse_json(R"({"s":"a\u0000b"})", doc), DomainError);
  EXPECT_NO_THROW(parse_json(deep, doc, JsonLimits{.max_depth = 100}));
}

TEST(ParseJson, RejectsInvalidUtf8) {
  rapidjson::Document doc;
  EXPECT_THROW(parse_json("{\"s\":\"\xff\xfe\"}", doc), DomainError);
}

}  // namespace
}  // namespace tasklog
