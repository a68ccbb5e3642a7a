// Waiting on a condition with a deadline: tests poll for what they expect instead of sleeping
// for a guessed time, so they are fast when things are fast and fail clearly when they never happen.
#pragma once

#include <chrono>
#include <thread>

namespace tasklog::testing {

// Calls `condition` every `interval` until it returns true (-> true) or `timeout` passes (-> false).
template <class Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                std::chrono::milliseconds interval = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
  return true;
}

}  // namespace tasklog::testing
