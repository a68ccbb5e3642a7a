// mkdtemp-based TempDir.
#include "tests/support/temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace tasklog::testing {

TempDir::TempDir() {
  std::string pattern = "/tmp/tasklog-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  path_ = pattern;
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void TempDir::restrict_to_owner() const {
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all);
}

}  // namespace tasklog::testing
