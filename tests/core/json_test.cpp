// Canonical JSON is what the hash chain and idempotency comparisons stand on.
#include "core/error.hpp"
#include "core/json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace tasklog {
namespace {

TEST(CanonicalJson, SortsKeysAndDropsWhiteSpace) {
  EXPECT_EQ(canonical_json(R"( { "b" : 1, "a" : [ true, null, "x" ], "c": {"z":1,"y":2} } )"),
            R"({"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}})");
}

TEST(CanonicalJson, DuplicateKeyKeepsTheLastValueAsJsonbDoes) {
  EXPECT_EQ(canonical_json(R"({"a":1,"a":2})"), R"({"a":2})");
}

TEST(FirstDuplicateKey, NamesTheFirstDuplicatedMemberAsAJsonPointer) {
  const auto first = [](std::string_view text) {
    rapidjson::Document doc;
    parse_json(text, doc);
    return first_duplicate_key(doc);
  };
  EXPECT_FALSE(first(R"({"a":1,"b":{"a":2},"c":[{"a":1},{"b":2}]})"));
  EXPECT_EQ(first(R"({"a":1,"a":2})"), "/a");
  EXPECT_EQ(first(R"({"x":{"y":[0,{"k":1,"k":2}]}})"), "/x/y/1/k");
  EXPECT_EQ(first(R"({"a/b":{"m~n":1,"m~n":2}})"), "/a~1b/m~0n");
  EXPECT_EQ(first(R"([{"z":1},{"q":1,"q":1}])"), "/1/q");
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

// Found by tests/fuzz (command_decode_fuzz; corpus files crash-zero-with-exponent,
// crash-long-significand): RapidJSON 1.1's full-precision conversion read a zero significand with an
// exponent as a huge number ("0e308" as 1.949e289, "cost_usd": 0e308 recorded as such) and read
// past its table for long significands with large exponents, both after undefined behaviour.
TEST(ParseJson, ZeroWithAnExponentOrFractionIsZero) {
  for (const char* text : {"0e308", "0.0e300", "0.000E+5", "-0e308", "0.0", "-0.00e-7", "00e1"}) {
    rapidjson::Document doc;
    const std::string array = std::string("[") + text + "]";
    if (std::string_view(text) == "00e1") {  // not JSON: a leading zero
      EXPECT_THROW(parse_json(array, doc), DomainError);
      continue;
    }
    parse_json(array, doc);
    ASSERT_TRUE(doc[0].IsDouble()) << text;
    EXPECT_EQ(doc[0].GetDouble(), 0.0) << text;
    EXPECT_EQ(std::signbit(doc[0].GetDouble()), text[0] == '-') << text;
  }
  // Every other number reads as before: integers as integers, the rest at full precision.
  rapidjson::Document doc;
  parse_json(R"([5, -7, 4294967296, -9223372036854775808, 18446744073709551615, 1e308, 0.1, 2.5e-3, 12345678901234567890123])", doc);
  EXPECT_TRUE(doc[0].IsUint() && doc[0].IsInt() && doc[0].GetInt() == 5);
  EXPECT_TRUE(doc[1].IsInt() && doc[1].GetInt() == -7);
  EXPECT_TRUE(doc[2].IsUint64() && !doc[2].IsUint() && doc[2].GetUint64() == 4294967296u);
  EXPECT_TRUE(doc[3].IsInt64() && doc[3].GetInt64() == std::numeric_limits<std::int64_t>::min());
  EXPECT_TRUE(doc[4].IsUint64() && !doc[4].IsInt64() && doc[4].GetUint64() == std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(doc[5].GetDouble(), 1e308);
  EXPECT_EQ(doc[6].GetDouble(), 0.1);
  EXPECT_EQ(doc[7].GetDouble(), 2.5e-3);
  EXPECT_TRUE(doc[8].IsDouble());
  EXPECT_EQ(doc[8].GetDouble(), 12345678901234567890123.0);
  const char* long_significand = "1844670000000000000000955467001111111111111111111111111111111111111000000095516e-300";
  parse_json(std::string("[") + long_significand + "]", doc);
  EXPECT_EQ(doc[0].GetDouble(), std::strtod(long_significand, nullptr));  // glibc's strtod rounds correctly
  EXPECT_THROW(parse_json("[1e-400]", doc), DomainError);  // beyond a double: refused, not guessed
}

TEST(ParseJson, RejectsMalformedTextWithAnOffset) {
  rapidjson::Document doc;
  try {
    parse_json(R"({"a":)", doc);
    FAIL() << "expected an error";
  } catch (const DomainError& e) {
    EXPECT_EQ(e.code(), ErrorCode::malformed_json);
    EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos);
    EXPECT_EQ(e.details_json(), R"({"offset":5})");  // for a client to point at, without parsing the message
  }
  try {
    parse_json(R"({"a":1} x)", doc);
    FAIL() << "expected an error";
  } catch (const DomainError& e) {
    EXPECT_EQ(e.details_json(), R"({"offset":8})");
  }
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

// Found by tests/fuzz/command_decode_fuzz: a lone low surrogate escape decoded to bytes that are
// not UTF-8, so the value's own canonical encoding could not be parsed back.
TEST(ParseJson, RefusesEscapedLoneSurrogatesAndKeepsPairs) {
  for (const char* text : {R"({"s":"\ud66d\ude00 x"})", R"({"s":"\ude00"})", R"({"\udc00":1})"}) {
    rapidjson::Document doc;
    try {
      parse_json(text, doc);
      ADD_FAILURE() << text << " was accepted";
    } catch (const DomainError& e) {
      EXPECT_EQ(e.code(), ErrorCode::validation_failed) << text;
    }
  }
  for (const char* text : {R"(["\ud800"])", R"(["\ud800x"])"}) {  // a high one without its pair: RapidJSON's own error
    rapidjson::Document doc;
    EXPECT_THROW(parse_json(text, doc), DomainError) << text;
  }
  rapidjson::Document doc;
  parse_json(R"({"s":"\ud83d\ude00 \u00e9"})", doc);  // a pair (U+1F600) and a BMP escape
  EXPECT_EQ(std::string(doc["s"].GetString()), "\xF0\x9F\x98\x80 \xC3\xA9");
  rapidjson::Document again;
  parse_json(canonical_json(doc), again);
  EXPECT_EQ(std::string(again["s"].GetString()), "\xF0\x9F\x98\x80 \xC3\xA9");
}

}  // namespace
}  // namespace tasklog
