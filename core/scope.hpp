// Scope rules: which repository paths a task's changes may touch. Globs are anchored at the
// repository root: `*` and `?` match within one path segment, `[a-z]`/`[!a-z]` one character of a
// class, `**` as a whole segment any number of segments (zero included), and a trailing `/`
// means everything below. So "src/**/*.cpp" matches "src/a.cpp" and "src/x/y/a.cpp", while
// "*.md" matches only top-level files (use "**/*.md" for any depth).
#pragma once

#include "core/project.hpp"
#include "core/task.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tasklog {

// The steps a scope check may take. Why: the deciders run on the one writer thread under the
// append lock, so a command's CPU time is every other command's wait. The schemas bound each
// path and glob (4,096 and 1,000 characters, 250 paths, 200 globs a list), not their product: 250
// long paths against 400 adversarial globs would take minutes. 20 million steps (a step is one
// character or one segment compared: a few tens of milliseconds) is far beyond any real
// repository's check; a check that needs more is refused with validation_failed.
struct GlobBudget {
  std::uint64_t steps_left = 20'000'000;
  void spend(std::uint64_t steps = 1);  // throws DomainError(validation_failed) when too few are left
};

bool glob_match(std::string_view pattern, std::string_view path, GlobBudget* budget = nullptr);

// "./src//a.cpp" -> "src/a.cpp". nullopt for an empty or absolute path or one with a ".."
// segment: such a path could point outside the repository, so it is never in scope.
std::optional<std::string> normalize_repo_path(std::string_view path);

struct ScopeVerdict {
  bool in_scope = true;
  std::vector<ScopeViolation> violations;  // in input order, one per offending path
};

// Forbidden wins: a path matching a forbidden glob is a violation even if an allowed glob matches.
// With a non-empty allowed list, a path matching none of it is a violation.
ScopeVerdict check_scope(const ScopeRules& rules, const std::vector<std::string>& paths);

}  // namespace tasklog
