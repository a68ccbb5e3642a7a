// When a failed task may be tried again: exponential backoff from 30 s, doubling per failed
// attempt, capped at one hour — 30 s, 1 min, 2 min, 4 min, 8 min, 16 min, 32 min, 1 h, 1 h, …
// Long enough that a flaky dependency gets time to recover, short enough that a person does not
// wonder whether the task was forgotten.
#pragma once

#include <chrono>
#include <cstdint>

namespace tasklog {

inline constexpr std::chrono::seconds kRetryBaseDelay{30};
inline constexpr std::chrono::seconds kRetryMaxDelay{3600};

// Delay after the n-th failed attempt (n >= 1; n < 1 is treated as 1).
std::chrono::seconds retry_delay(std::int64_t failed_attempts);

}  // namespace tasklog
