#include "core/backoff.hpp"

#include <algorithm>

namespace tasklog {

std::chrono::seconds retry_delay(std::int64_t failed_attempts) {
  std::chrono::seconds delay = kRetryBaseDelay;
  // Doubling stops at the cap, so a large attempt count cannot overflow.
  for (std::int64_t n = 1; n < failed_attempts && delay < kRetryMaxDelay; ++n) delay *= 2;
  return std::min(delay, kRetryMaxDelay);
}

}  // namespace tasklog
