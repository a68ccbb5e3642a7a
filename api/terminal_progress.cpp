#include "api/terminal_progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace tasklog::api {
namespace {

std::string duration_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

TerminalProgress::TerminalProgress() : enabled_(::isatty(STDERR_FILENO) == 1) {}

TerminalProgress::~TerminalProgress() { finish(); }

void TerminalProgress::update(const std::string& stage, std::int64_t done, std::int64_t target) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (stage != stage_) {
    finish();
    stage_ = stage;
    stage_start_ = now;
    stage_first_ = done;
  } else if (now - last_draw_ < std::chrono::milliseconds(250) && done < target) {
    return;  // a redraw per batch would flood a slow terminal
  }
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - stage_start_).count();
  const double rate = elapsed > 0 ? double(done - stage_first_) / elapsed : 0;
  const std::string eta = rate > 0 && target > done ? duration_text(double(target - done) / rate) : "-";
  const double percent = target > 0 ? 100.0 * double(done) / double(target) : 100.0;
  fmt::print(stderr, "\r{}: {} / {} events ({:.1f}%)  {:.0f} events/s  ETA {}\033[K", stage, done, target, percent, rate,
             eta);
  std::fflush(stderr);
  drawn_ = true;
}

void TerminalProgress::finish() {
  if (!drawn_) return;
  fmt::print(stderr, "\n");
  drawn_ = false;
}

}  // namespace tasklog::api
