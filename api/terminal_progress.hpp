// Progress of a long replay (rebuild, verify) on stderr: events done, events/s and the ETA, on one
// line redrawn a few times a second — only when stderr is a terminal, so logs and pipes stay quiet.
//
// Thread-safety: one object per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tasklog::api {

class TerminalProgress {
 public:
  TerminalProgress();  // enabled iff stderr is a terminal
  ~TerminalProgress();  // ends the line if one was drawn
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  // `done` of `target` units of the current stage; a new stage label starts a new line and rate.
  void update(const std::string& stage, std::int64_t done, std::int64_t target);
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  std::string stage_;
  Clock::time_point stage_start_{};
  std::int64_t stage_first_ = 0;
  Clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace tasklog::api
