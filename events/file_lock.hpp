// An advisory whole-file lock (flock) held for the lifetime of the object: serializes work between
// processes that share a directory, e.g. starting one embedded PostgreSQL cluster, or building the
// test template database while other test processes wait.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

namespace tasklog::events {

// Not thread-safe per object; each holder opens its own descriptor, so threads and processes
// exclude each other the same way. The lock dies with the process, also on kill -9, so a crash
// never leaves it behind. The file is created if missing and never deleted (deleting a lock file
// would let two processes lock two different files of the same name).
class FileLock {
 public:
  enum class Mode { exclusive, shared };

  // Blocks until the lock is granted; throws std::system_error if the file cannot be opened.
  explicit FileLock(const std::filesystem::path& file, Mode mode = Mode::exclusive);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // The exclusive lock if nobody holds the file's lock now; nullptr when someone does (no wait).
  static std::unique_ptr<FileLock> try_exclusive(const std::filesystem::path& file);

  // The file's contents replaced with `text` (a holder's note to those it keeps out).
  void write(std::string_view text);

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace tasklog::events
