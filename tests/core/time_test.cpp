#include "core/time.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace std::chrono;

TEST(Time, FormatsUtcWithSixFractionDigits) {
  const Timestamp t = sys_days{2024y / 5 / 1} + 12h + 3min + 4s + 250ms;
  EXPECT_EQ(format_timestamp(t), "2024-05-01T12:03:04.250000Z");
}

TEST(Time, ParsesWhatItFormats) {
  const Timestamp t = sys_days{1999y / 12 / 31} + 23h + 59min + 59s + 999999us;
  EXPECT_EQ(parse_timestamp(format_timestamp(t)), t);
}

TEST(Time, ParsesOffsetsAndShortFractions) {
  EXPECT_EQ(parse_timestamp("2024-05-01T14:00:00.5+02:00"), sys_days{2024y / 5 / 1} + 12h + 500ms);
  EXPECT_EQ(parse_timestamp("2024-05-01T12:00:00Z"), sys_days{2024y / 5 / 1} + 12h);
}

TEST(Time, RefusesMalformedText) {
  EXPECT_FALSE(parse_timestamp("2024-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2024-05-01T12:00:00"));
  EXPECT_FALSE(parse_timestamp("2024-05-01T12:00:00.1234567Z"));
  EXPECT_FALSE(parse_timestamp("2024-05-01T24:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2024-05-01T12:00:00Zjunk"));
}

TEST(Time, FormatsBeforeTheEpoch) {
  const Timestamp t = sys_days{1969y / 12 / 31} + 23h + 59min + 59s + 500ms;
  EXPECT_EQ(format_timestamp(t), "1969-12-31T23:59:59.500000Z");
  EXPECT_EQ(parse_timestamp("1969-12-31T23:59:59.500000Z"), t);
}
