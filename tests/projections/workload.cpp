#include "tests/projections/workload.hpp"

#include "core/error.hpp"
#include "core/overloaded.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <functional>
#include <optional>

namespace tasklog::projections::testing {
namespace {

const Timestamp kStart = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + std::chrono::hours{9};

constexpr std::array kWords{"parser", "cache",  "index",  "lease", "retry",  "schema", "query",  "token",
                            "report", "deploy", "review", "merge", "bench",  "docs",   "config", "agent"};

ProjectRules rules_for(int n) {
  switch (n % 3) {
    case 0: return ProjectRules{.max_attempts = 2, .default_lease_seconds = 30};
    case 1:
      return ProjectRules{.gates = {Gate{.kind = GateKind::has_artifacts, .min_count = 1},
                                    Gate{.kind = GateKind::acceptance_met}},
                          .scope = {.allowed = {"src/**", "docs/**"}, .forbidden = {"src/secrets/**"}},
                          .max_attempts = 3,
                          .default_lease_seconds = 20};
    default:
      return ProjectRules{.gates = {Gate{.kind = GateKind::custom, .name = "lint"}, Gate{.kind = GateKind::has_tests}},
                          .max_attempts = 4,
                          .default_lease_seconds = 60};
  }
}

}  // namespace

SteppingClock::SteppingClock(std::chrono::microseconds step)
    : step_(step), micros_(kStart.time_since_epoch().count()) {}

Timestamp SteppingClock::operator()() {
  return Timestamp(std::chrono::microseconds(micros_.fetch_add(step_.count()) + step_.count()));
}

Workload::Workload(TaskEngine& engine, std::uint64_t seed, int projects)
    : engine_(engine), random_(seed), project_count_(projects) {
  // Ids of the actor and members derive from the seed, so a run is reproducible.
  actor_ = derived_uuid(fmt::format("workload-actor-{}", seed));
  agent_ = fmt::format("agent-{}", seed);
  for (int i = 0; i < 4; ++i) members_.push_back(derived_uuid(fmt::format("workload-member-{}-{}", seed, i)));
}

void Workload::run(std::size_t commands) {
  while (projects_.size() < std::size_t(project_count_)) {
    const int n = int(projects_.size());
    execute(CreateProject{.project_name = fmt::format("{} project {}", agent_, n),
                          .description = words(6),
                          .rules = rules_for(n)});
  }
  for (std::size_t i = 0; i < commands; ++i) execute(next_command());
}

void Workload::execute(const Command& command) {
  ++stats_.commands;
  try {
    const CommandOutcome outcome = engine_.execute(command, actor_);
    ++stats_.accepted;
    stats_.events += outcome.events.size();
    ++stats_.accepted_by_command[std::string(command_name(command))];
    learn(outcome.events, outcome.lease_token);
  } catch (const DomainError&) {
    ++stats_.refused;  // refusals are part of the workload
  }
}

void Workload::learn(const std::vector<DomainEvent>& events, const std::optional<Uuid>& lease_token) {
  auto drop_lease = [this](const Uuid& task) {
    if (const auto it = leases_.find(task); it != leases_.end()) {
      stale_tokens_.push_back(it->second);
      leases_.erase(it);
    }
  };
  for (const DomainEvent& event : events) {
    std::visit(Overloaded{
                   [&](const ProjectCreated& e) { projects_.push_back(e.project_id); },
                   [&](const TaskCreated& e) {
                     tasks_[e.project_id].push_back(e.task_id);
                     task_project_[e.task_id] = e.project_id;
                   },
                   [&](const TaskClaimed& e) { leases_[e.task_id] = *lease_token; },  // the answer's, not the event's
                   [&](const TaskReleased& e) { drop_lease(e.task_id); },
                   [&](const TaskCompleted& e) { drop_lease(e.task_id); },
                   [&](const TaskAttemptFailed& e) { drop_lease(e.task_id); },
                   [&](const TaskLeaseExpired& e) { drop_lease(e.task_id); },
                   [&](const TaskCancelled& e) { drop_lease(e.task_id); },
                   [&](const ArtifactAppended& e) { artifacts_[e.task_id].push_back(e.artifact_id); },
                   [&](const DecisionRecorded& e) { decisions_[e.project_id].push_back(e.decision_id); },
                   [](const auto&) {},
               },
               event);
  }
}

std::optional<Uuid> Workload::some_task_of(const Uuid& project) {
  const auto it = tasks_.find(project);
  if (it == tasks_.end() || it->second.empty()) return std::nullopt;
  // Recent tasks are busier, as on a real board.
  const auto& list = it->second;
  const std::size_t window = std::min<std::size_t>(list.size(), 40);
  return list[list.size() - 1 - pick(window)];
}

std::optional<Uuid> Workload::some_task() { return some_task_of(some_project()); }

std::optional<std::pair<Uuid, Uuid>> Workload::some_lease() {
  if (!leases_.empty() && !chance(0.1)) {
    auto it = leases_.begin();
    std::advance(it, pick(leases_.size()));
    return *it;
  }
  // A fencing refusal: a token that is no longer (or never was) the holder's.
  const auto task = some_task();
  if (!task) return std::nullopt;
  const Uuid token = stale_tokens_.empty() ? derived_uuid(words(2)) : stale_tokens_[pick(stale_tokens_.size())];
  return std::pair{*task, token};
}

std::optional<Uuid> Workload::token_for(const Uuid& task) {
  const auto it = leases_.find(task);
  return it == leases_.end() ? std::nullopt : std::optional<Uuid>(it->second);
}

std::string Workload::words(std::size_t count) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) text += ' ';
    text += kWords[pick(kWords.size())];
  }
  return text;
}

Command Workload::next_command() {
  using Maker = std::function<std::optional<Command>()>;
  // Makers for a command about some task, or about a held (or stale) lease: none yet, no command.
  const auto on_task = [this](auto make) -> Maker {
    return [this, make]() -> std::optional<Command> {
      const auto task = some_task();
      return task ? std::optional<Command>(make(*task)) : std::nullopt;
    };
  };
  const auto on_lease = [this](auto make) -> Maker {
    return [this, make]() -> std::optional<Command> {
      const auto lease = some_lease();
      return lease ? std::optional<Command>(make(lease->first, lease->second)) : std::nullopt;
    };
  };
  // (weight, command); a maker without a target returns nullopt and a task is created instead.
  const std::vector<std::pair<int, Maker>> mix{
      {14,
       [&]() -> std::optional<Command> {
         const Uuid project = some_project();
         CreateTask c{.project_id = project,
                      .title = words(3),
                      .description = words(8),
                      .type = chance(0.7) ? "feature" : "bug",
                      .priority = Priority(pick(4))};
         for (std::size_t i = pick(3); i > 0; --i) c.acceptance_criteria.push_back(words(4));
         if (chance(0.3)) c.constraints.push_back(words(3));
         // Some dependencies, not so many that little is ever ready.
         for (const double p : {0.35, 0.1})
           if (auto dep = some_task_of(project); dep && chance(p) &&
                                                 std::find(c.dependencies.begin(), c.dependencies.end(), *dep) ==
                                                     c.dependencies.end())
             c.dependencies.push_back(*dep);
         if (chance(0.15)) c.parent_task_id = some_task_of(project);
         if (chance(0.2)) c.timebox_seconds = 600 + std::int64_t(pick(3600));
         return c;
       }},
      {10,
       on_task([&](const Uuid& task) -> Command {
         return ClaimTask{.task_id = task, .agent = agent_, .lease_seconds = 5 + std::int64_t(pick(60))};
       })},
      {6,
       [&]() -> std::optional<Command> {
         return PickNextTask{.project_id = some_project(), .agent = agent_, .strategy = PickStrategy(pick(4)),
                             .lease_seconds = chance(0.5) ? std::optional<std::int64_t>(10 + pick(50)) : std::nullopt};
       }},
      {7,
       on_lease([&](const Uuid& task, const Uuid& token) -> Command {
         return Heartbeat{.task_id = task, .lease_token = token, .lease_seconds = 5 + std::int64_t(pick(60))};
       })},
      {2,
       on_lease([&](const Uuid& task, const Uuid& token) -> Command {
         return ReleaseTask{.task_id = task, .lease_token = token, .reason = words(2)};
       })},
      {3,
       on_task([&](const Uuid& task) -> Command {
         return BlockTask{.task_id = task, .reason = words(4), .needs_human = chance(0.3), .lease_token = token_for(task)};
       })},
      {3,
       on_task([&](const Uuid& task) -> Command {
         return UnblockTask{.task_id = task, .note = words(2)};
       })},
      {6,
       on_task([&](const Uuid& task) -> Command {
         return MarkCriterionMet{.task_id = task, .index = std::int64_t(pick(3)), .evidence = words(3),
                                 .lease_token = token_for(task)};
       })},
      {4,
       on_task([&](const Uuid& task) -> Command {
         EvaluateGates c{.task_id = task, .lease_token = token_for(task)};
         if (chance(0.6)) c.custom_passed.push_back("lint");
         return c;
       })},
      {3,
       on_task([&](const Uuid& task) -> Command {
         AssertScope c{.task_id = task, .lease_token = token_for(task)};
         c.files_changed.push_back("src/" + words(1) + ".cpp");
         if (chance(0.3)) c.files_added.push_back(chance(0.5) ? "src/secrets/key.pem" : "docs/" + words(1) + ".md");
         if (chance(0.2)) c.files_deleted.push_back("build/" + words(1));
         return c;
       })},
      {8,
       on_task([&](const Uuid& task) -> Command {
         AppendArtifact c{.task_id = task, .type = ArtifactType(pick(5)), .ref = "git:" + words(1),
                          .summary = words(5), .lease_token = token_for(task)};
         if (chance(0.3)) c.content = words(20);
         return c;
       })},
      {9,
       on_lease([&](const Uuid& task, const Uuid& token) -> Command {
         CompleteTask c{.task_id = task, .lease_token = token, .summary = words(6)};
         if (const auto it = artifacts_.find(task); it != artifacts_.end() && chance(0.7))
           c.artifact_ids.push_back(it->second[pick(it->second.size())]);
         return c;
       })},
      {4,
       on_lease([&](const Uuid& task, const Uuid& token) -> Command {
         return FailTask{.task_id = task, .lease_token = token, .error = words(4)};
       })},
      {3,
       // The reaper: refused unless the clock has passed the lease's end.
       on_lease([&](const Uuid& task, const Uuid& token) -> Command {
         return ExpireLease{.task_id = task, .lease_id = lease_id_of(token)};
       })},
      {2,
       on_task([&](const Uuid& task) -> Command {
         return CancelTask{.task_id = task, .reason = words(3)};
       })},
      {3,
       on_task([&](const Uuid& task) -> Command {
         return ReopenTask{.task_id = task, .reason = words(3)};
       })},
      {6,
       on_task([&](const Uuid& task) -> Command {
         return AppendMessage{.task_id = task, .role = MessageRole(pick(4)), .content = words(10),
                              .lease_token = token_for(task)};
       })},
      {2,
       on_task([&](const Uuid& task) -> Command {
         GitInfo git{.branch = "feature/" + words(1), .commit_hash = fmt::format("{:040x}", random_() & 0xffffffff)};
         if (chance(0.5)) {
           git.pr_number = std::int64_t(1 + pick(500));
           git.pr_url = fmt::format("https://git.example/pr/{}", *git.pr_number);
           git.target_branch = "main";
         }
         return RecordGitInfo{.task_id = task, .git = git, .lease_token = token_for(task)};
       })},
      {3,
       on_task([&](const Uuid& task) -> Command {
         return RecordUsage{.task_id = task, .tokens = std::int64_t(100 + pick(5000)),
                            .cost_usd = double(pick(300)) / 100.0, .lease_token = token_for(task)};
       })},
      {3,
       [&]() -> std::optional<Command> {
         const Uuid project = some_project();
         return CreateCheckpoint{.project_id = project,
                                 .task_id = chance(0.3) ? some_task_of(project) : std::nullopt,
                                 .label = words(2),
                                 .summary = words(8),
                                 .repo_ref = "refs/heads/" + words(1),
                                 .resume_instructions = words(6)};
       }},
      {4,
       [&]() -> std::optional<Command> {
         const Uuid project = some_project();
         RecordDecision c{.project_id = project, .title = words(3), .rationale = words(8)};
         c.options = {words(1), words(1) + " alt"};
         c.choice = c.options[pick(2)];
         if (chance(0.3)) c.task_id = some_task_of(project);
         if (const auto it = decisions_.find(project); it != decisions_.end() && chance(0.3))
           c.supersedes = it->second[pick(it->second.size())];
         return c;
       }},
      {2,
       on_task([&](const Uuid& task) -> Command {
         UpdateTask c{.task_id = task, .title = words(3), .lease_token = token_for(task)};
         if (chance(0.3)) c.priority = Priority(pick(4));
         if (chance(0.2)) c.acceptance_criteria = std::vector<std::string>{words(4), words(3)};
         return c;
       })},
      {2,
       [&]() -> std::optional<Command> {
         const Uuid project = some_project();
         const auto task = some_task_of(project);
         const auto on = some_task_of(project);
         if (!task || !on) return std::nullopt;
         return AddDependency{.task_id = *task, .depends_on = *on};  // cycles are refused
       }},
      {1,
       [&]() -> std::optional<Command> {
         const Uuid project = some_project();
         const auto task = some_task_of(project);
         const auto on = some_task_of(project);
         if (!task || !on) return std::nullopt;
         return RemoveDependency{.task_id = *task, .depends_on = *on};
       }},
      {1,
       [&]() -> std::optional<Command> {
         return UpdateProject{.project_id = some_project(), .description = words(6)};
       }},
      {1,
       [&]() -> std::optional<Command> {
         return AddMember{.project_id = some_project(), .user_id = members_[pick(members_.size())],
                          .role = Role(pick(3))};
       }},
      {1,
       [&]() -> std::optional<Command> {
         return RemoveMember{.project_id = some_project(), .user_id = members_[pick(members_.size())]};
       }},
  };
  int total = 0;
  for (const auto& [weight, _] : mix) total += weight;
  int roll = std::uniform_int_distribution<int>(0, total - 1)(random_);
  for (const auto& [weight, make] : mix) {
    if (roll < weight) {
      if (auto command = make()) return *command;
      break;
    }
    roll -= weight;
  }
  return *mix.front().second();
}

}  // namespace tasklog::projections::testing
