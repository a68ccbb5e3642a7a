#include "core/scope.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
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

constexpr std::size_t kNoMatch = std::string_view::npos;

// The greedy wildcard walk both levels of a glob share: pattern items are a star (matches any run
// of text items, none included) or match exactly one text item. On a mismatch it is enough to go
// back to the last star and let it take one item more, because every other item matches exactly
// one (the classic two-pointer match; no exponential backtracking). A mismatch before any star
// ends at once; the worst case is O(pattern x text) steps, each spent from the budget.
// is_star(p): pattern item p is a star. one(p, t): the pattern position after item p when it
// matches text item t, else kNoMatch.
template <class IsStar, class One>
bool wildcard_walk(std::size_t pattern_size, std::size_t text_size, IsStar is_star, One one, GlobBudget* budget) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star_p = kNoMatch;
  std::size_t star_t = 0;
  while (t < text_size) {
    if (budget) budget->spend();
    if (p < pattern_size && is_star(p)) {
      star_p = ++p;
      star_t = t;
      continue;
    }
    if (p < pattern_size) {
      if (const std::size_t next = one(p, t); next != kNoMatch) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star_p == kNoMatch) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern_size && is_star(p)) ++p;
  return p == pattern_size;
}

// One segment: '*' any run, '?' one character, '[...]' a class ('*' cannot cross a segment).
bool segment_match(std::string_view pattern, std::string_view text, GlobBudget* budget) {
  return wildcard_walk(
      pattern.size(), text.size(), [&](std::size_t p) { return pattern[p] == '*'; },
      [&](std::size_t p, std::size_t t) {
        if (pattern[p] == '?') return p + 1;
        if (pattern[p] == '[') {
          bool is_class = false;
          std::size_t next = p;
          const bool matched = class_match(pattern, next, text[t], is_class);
          if (budget) budget->spend(is_class ? next - p : pattern.size() - p);  // the characters the class scanned
          if (matched) return is_class ? next : p + 1;
          return kNoMatch;
        }
        return pattern[p] == text[t] ? p + 1 : kNoMatch;
      },
      budget);
}

}  // namespace

void GlobBudget::spend(std::uint64_t steps) {
  if (steps > steps_left)
    throw DomainError(ErrorCode::validation_failed,
                      "the scope check is too large to run: fewer paths or simpler globs, please");
  steps_left -= steps;
}

namespace {

// A glob as segments, a trailing '/' read as "/**". The segments view `storage`.
std::vector<std::string_view> glob_segments(std::string_view pattern, std::string& storage) {
  storage.assign(pattern);
  if (!storage.empty() && storage.back() == '/') storage += "**";
  return split_segments(storage);
}

// The same walk one level up: `**` is the star, every other pattern segment matches one path segment.
bool segments_match(const std::vector<std::string_view>& pat, const std::vector<std::string_view>& segs,
                    GlobBudget* budget) {
  return wildcard_walk(
      pat.size(), segs.size(), [&](std::size_t i) { return pat[i] == "**"; },
      [&](std::size_t i, std::size_t j) { return segment_match(pat[i], segs[j], budget) ? i + 1 : kNoMatch; }, budget);
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path, GlobBudget* budget) {
  std::string storage;
  return segments_match(glob_segments(pattern, storage), split_segments(path), budget);
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
  GlobBudget budget;
  // Each glob and each path is split once, not once per pair (100,000 pairs at the schemas' limits).
  struct Glob {
    const std::string* text;
    std::string storage;
    std::vector<std::string_view> segments;
  };
  const auto split_all = [](const std::vector<std::string>& globs) {
    std::vector<Glob> out(globs.size());
    for (std::size_t i = 0; i < globs.size(); ++i) {
      out[i].text = &globs[i];
      out[i].segments = glob_segments(globs[i], out[i].storage);
    }
    return out;
  };
  const std::vector<Glob> forbidden = split_all(rules.forbidden);
  const std::vector<Glob> allowed_globs = split_all(rules.allowed);
  for (const std::string& raw : paths) {
    const auto path = normalize_repo_path(raw);
    if (!path) {
      verdict.violations.push_back({raw, ScopeViolationReason::invalid_path, ""});
      continue;
    }
    const auto segments = split_segments(*path);
    const auto matches = [&](const Glob& glob) { return segments_match(glob.segments, segments, &budget); };
    const auto forbidding = std::find_if(forbidden.begin(), forbidden.end(), matches);
    if (forbidding != forbidden.end()) {
      verdict.violations.push_back({*path, ScopeViolationReason::forbidden, *forbidding->text});
      continue;
    }
    const bool allowed = allowed_globs.empty() || std::any_of(allowed_globs.begin(), allowed_globs.end(), matches);
    if (!allowed) verdict.violations.push_back({*path, ScopeViolationReason::outside_allowed, ""});
  }
  verdict.in_scope = verdict.violations.empty();
  return verdict;
}

}  // namespace tasklog
