#include "core/scope.hpp"

#include <vector>

namespace tasklog {
namespace {

std::vector<std::string_view> split_segments(std::string_view text) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = text.find('/', start);
    segments.push_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return segments;
    start = slash + 1;
  }
}

// Matches one character against a class starting at pattern[p] == '['; sets p past the ']'.
// An unterminated '[' is a literal character, as in fnmatch.
bool class_match(std::string_view pattern, std::size_t& p, char c, bool& is_class) {
  std::size_t i = p + 1;
  const bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool matched = false;
  bool first = true;
  for (; i < pattern.size() && (first || pattern[i] != ']'); ++i, first = false) {
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      matched |= pattern[i] <= c && c <= pattern[i + 2];
      i += 2;
    } else {
      matched |= pattern[i] == c;
    }
  }
  if (i >= pattern.size()) {
    is_class = false;
    return c == '[';
  }
  is_class = true;
  p = i + 1;
  return matched != negate;
}

// One segment: '*' any run, '?' one character, '[...]' a class. Backtracks only to the last '*',
// which is enough because '*' cannot cross a segment.
bool segment_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star_p = std::string_view::npos;
  std::size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      if (pattern[p] == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pattern[p] == '[') {
        bool is_class = false;
        std::size_t next = p;
        if (class_match(pattern, next, text[t], is_class)) {
          p = is_class ? next : p + 1;
          ++t;
          continue;
        }
      } else if (pattern[p] == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  std::string expanded(pattern);
  if (!expanded.empty() && expanded.back() == '/') expanded += "**";
  const auto pat = split_segments(expanded);
  const auto segs = split_segments(path);
  const std::size_t m = pat.size();
  const std::size_t n = segs.size();
  // matches[i][j]: pattern segments i.. match path segments j..; filled from the end, so `**`
  // costs O(m*n) rather than exponential backtracking.
  std::vector<std::vector<char>> matches(m + 1, std::vector<char>(n + 1, 0));
  matches[m][n] = 1;
  for (std::size_t i = m; i-- > 0;) {
    for (std::size_t j = n + 1; j-- > 0;) {
      if (pat[i] == "**")
        matches[i][j] = matches[i + 1][j] || (j < n && matches[i][j + 1]);
      else
        matches[i][j] = j < n && segment_match(pat[i], segs[j]) && matches[i + 1][j + 1];
    }
  }
  return matches[0][0] != 0;
}

std::optional<std::string> normalize_repo_path(std::string_view path) {
  if (path.empty() || path.front() == '/') return std::nullopt;
  std::string out;
  for (const std::string_view segment : split_segments(path)) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") return std::nullopt;
    if (!out.empty()) out += '/';
    out += segment;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

ScopeVerdict check_scope(const ScopeRules& rules, const std::vector<std::string>& paths) {
  ScopeVerdict verdict;
  for (const std::string& raw : paths) {
    const auto path = normalize_repo_path(raw);
    if (!path) {
      verdict.violations.push_back({raw, ScopeViolationReason::invalid_path, ""});
      continue;
    }
    const std::string* forbidding = nullptr;
    for (const std::string& rule : rules.forbidden)
      if (glob_match(rule, *path)) {
        forbidding = &rule;
        break;
      }
    if (forbidding) {
      verdict.violations.push_back({*path, ScopeViolationReason::forbidden, *forbidding});
      continue;
    }
    bool allowed = rules.allowed.empty();
    for (const std::string& rule : rules.allowed) allowed = allowed || glob_match(rule, *path);
    if (!allowed) verdict.violations.push_back({*path, ScopeViolationReason::outside_allowed, ""});
  }
  verdict.in_scope = verdict.violations.empty();
  return verdict;
}

}  // namespace tasklog
