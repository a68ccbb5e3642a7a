#include "core/backoff.hpp"

#include <gtest/gtest.h>

using namespace tasklog;
using namespace std::chrono_literals;

TEST(Backoff, DoublesFromThirtySecondsUpToOneHour) {
  EXPECT_EQ(retry_delay(1), 30s);
  EXPECT_EQ(retry_delay(2), 60s);
  EXPECT_EQ(retry_delay(3), 120s);
  EXPECT_EQ(retry_delay(4), 240s);
  EXPECT_EQ(retry_delay(7), 1920s);
  EXPECT_EQ(retry_delay(8), 3600s);
  EXPECT_EQ(retry_delay(9), 3600s);
}

TEST(Backoff, HugeAndNonsenseCountsStayBounded) {
  EXPECT_EQ(retry_delay(1'000'000), 3600s);
  EXPECT_EQ(retry_delay(0), 30s);
  EXPECT_EQ(retry_delay(-5), 30s);
}
