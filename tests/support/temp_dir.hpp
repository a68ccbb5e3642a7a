// A scratch directory for one test, removed with everything in it when the test ends.
#pragma once

#include <filesystem>

namespace tasklog::testing {

class TempDir {
 public:
  // Made under /tmp, mode 0755: an embedded PostgreSQL run as the `postgres` user (tests run as
  // root in CI) must be able to walk into it. restrict_to_owner() makes it 0700 again.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  void restrict_to_owner() const;

 private:
  std::filesystem::path path_;
};

}  // namespace tasklog::testing
