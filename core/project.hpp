// A project and its rules: the gates a task must pass to complete, the paths its changes may
// touch, how often a task may be attempted and how long a lease lasts by default.
// ProjectState is also the `projects` (+ `project_members`) read-model row.
#pragma once

#include "core/enum_names.hpp"
#include "core/fields.hpp"
#include "core/ids.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tasklog {

enum class Role { owner, member, viewer };

template <>
struct EnumNames<Role> {
  static constexpr std::string_view schema_type = "role";
  static constexpr std::pair<Role, std::string_view> values[] = {
      {Role::owner, "owner"},
      {Role::member, "member"},
      {Role::viewer, "viewer"}};
};

// in_scope is ours beyond the usual four: it passes when the task's last assert_scope found no
// violation (and there was one), so a project can make a clean scope check a completion gate.
enum class GateKind { has_artifacts, has_tests, has_docs, acceptance_met, in_scope, custom };

template <>
struct EnumNames<GateKind> {
  static constexpr std::string_view schema_type = "gate_kind";
  static constexpr std::pair<GateKind, std::string_view> values[] = {
      {GateKind::has_artifacts, "has_artifacts"},
      {GateKind::has_tests, "has_tests"},
      {GateKind::has_docs, "has_docs"},
      {GateKind::acceptance_met, "acceptance_met"},
      {GateKind::in_scope, "in_scope"},
      {GateKind::custom, "custom"}};
};

// One completion gate. `min_count` only means something for has_artifacts; `name` only for
// custom gates, which pass when the agent reports them passed in an evaluation.
struct Gate {
  GateKind kind = GateKind::custom;
  std::int64_t min_count = 1;
  std::string name{};

  // How results and errors name this gate: the custom name, else the kind's name.
  std::string label() const;

  static constexpr auto fields() {
    return std::tuple{req("kind", &Gate::kind), opt("min_count", &Gate::min_count), opt("name", &Gate::name)};
  }
  bool operator==(const Gate&) const = default;
};

// Path globs relative to the repository root (`*`, `?` within a segment, `**` across segments).
// A path matching a forbidden glob is a violation even when an allowed glob matches it too; with a
// non-empty allowed list, a path matching none of it is a violation.
struct ScopeRules {
  std::vector<std::string> allowed{};
  std::vector<std::string> forbidden{};

  static constexpr auto fields() {
    return std::tuple{opt("allowed", &ScopeRules::allowed), opt("forbidden", &ScopeRules::forbidden)};
  }
  bool operator==(const ScopeRules&) const = default;
};

inline constexpr std::int64_t kDefaultMaxAttempts = 3;
inline constexpr std::int64_t kDefaultLeaseSeconds = 600;

struct ProjectRules {
  std::vector<Gate> gates{};
  ScopeRules scope{};
  std::int64_t max_attempts = kDefaultMaxAttempts;            // failed attempts before a task is failed
  std::int64_t default_lease_seconds = kDefaultLeaseSeconds;  // when a claim names no duration

  static constexpr auto fields() {
    return std::tuple{opt("gates", &ProjectRules::gates), opt("scope", &ProjectRules::scope),
                      opt("max_attempts", &ProjectRules::max_attempts),
                      opt("default_lease_seconds", &ProjectRules::default_lease_seconds)};
  }
  bool operator==(const ProjectRules&) const = default;
};

// The rules a PATCH sends: each member given replaces the project's (recursively for `scope`, as
// in a JSON merge patch: `{"scope":{"forbidden":[…]}}` keeps `allowed`); members left out keep
// their values. A gate list is replaced whole.
struct ScopeRulesPatch {
  std::optional<std::vector<std::string>> allowed{};
  std::optional<std::vector<std::string>> forbidden{};

  static constexpr auto fields() {
    return std::tuple{opt("allowed", &ScopeRulesPatch::allowed), opt("forbidden", &ScopeRulesPatch::forbidden)};
  }
  bool operator==(const ScopeRulesPatch&) const = default;
};

struct ProjectRulesPatch {
  std::optional<std::vector<Gate>> gates{};
  std::optional<ScopeRulesPatch> scope{};
  std::optional<std::int64_t> max_attempts{};
  std::optional<std::int64_t> default_lease_seconds{};

  static constexpr auto fields() {
    return std::tuple{opt("gates", &ProjectRulesPatch::gates), opt("scope", &ProjectRulesPatch::scope),
                      opt("max_attempts", &ProjectRulesPatch::max_attempts),
                      opt("default_lease_seconds", &ProjectRulesPatch::default_lease_seconds)};
  }
  bool operator==(const ProjectRulesPatch&) const = default;

  // `rules` with this patch applied.
  ProjectRules applied_to(ProjectRules rules) const {
    if (gates) rules.gates = *gates;
    if (scope && scope->allowed) rules.scope.allowed = *scope->allowed;
    if (scope && scope->forbidden) rules.scope.forbidden = *scope->forbidden;
    if (max_attempts) rules.max_attempts = *max_attempts;
    if (default_lease_seconds) rules.default_lease_seconds = *default_lease_seconds;
    return rules;
  }
};

struct Member {
  Uuid user_id{};
  Role role = Role::member;
  Timestamp added_at{};

  static constexpr auto fields() {
    return std::tuple{req("user_id", &Member::user_id), req("role", &Member::role), req("added_at", &Member::added_at)};
  }
  bool operator==(const Member&) const = default;
};

struct ProjectState {
  Uuid id{};
  std::string name{};
  std::string description{};
  ProjectRules rules{};
  bool archived = false;
  std::vector<Member> members{};  // in order of first addition
  std::int64_t version = 0;     // version of the project stream's last event
  Uuid created_by{};
  Timestamp created_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> archived_at{};

  const Member* member(const Uuid& user_id) const;
  bool operator==(const ProjectState&) const = default;
};

}  // namespace tasklog
