// flock(2)-based FileLock.
#include "events/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tasklog::events {

FileLock::FileLock(const std::filesystem::path& file, Mode mode)
    // O_CLOEXEC: a child we start (postgres!) must not inherit the descriptor, or it would hold
    // the lock for as long as it runs.
    : fd_(open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open lock file " + file.string());
  const int operation = mode == Mode::exclusive ? LOCK_EX : LOCK_SH;
  while (flock(fd_, operation) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    close(fd_);
    throw std::system_error(error, std::generic_category(), "flock " + file.string());
  }
}

FileLock::~FileLock() { close(fd_); }

std::unique_ptr<FileLock> FileLock::try_exclusive(const std::filesystem::path& file) {
  const int fd = open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open lock file " + file.string());
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    close(fd);
    if (error == EWOULDBLOCK) return nullptr;
    throw std::system_error(error, std::generic_category(), "flock " + file.string());
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

void FileLock::write(std::string_view text) {
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw std::system_error(errno, std::generic_category(), "write lock file");
}

}  // namespace tasklog::events
