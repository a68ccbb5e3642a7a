#include "core/decide.hpp"

#include "core/decide_steps.hpp"
#include "core/overloaded.hpp"

namespace tasklog {

std::string_view command_name(const Command& command) {
  return std::visit([](const auto& c) { return std::decay_t<decltype(c)>::name; }, command);
}

std::vector<DomainEvent> decide(const CommandContext& context, const Command& command) {
  // Overload resolution picks the decider; a command without one fails to compile here.
  return std::visit([&](const auto& c) { return decide_steps::decide_command(context, c); }, command);
}

ContextNeeds context_needs(const Command& command) {
  return std::visit(
      Overloaded{
          [](const CreateProject&) { return ContextNeeds{}; },
          [](const CreateTask& c) { return ContextNeeds{.project_id = c.project_id, .graph = true}; },
          [](const AddDependency& c) { return ContextNeeds{.task_id = c.task_id, .graph = true}; },
          [](const ClaimTask& c) { return ContextNeeds{.task_id = c.task_id, .graph = true}; },
          [](const CompleteTask& c) { return ContextNeeds{.task_id = c.task_id, .graph = true}; },
          [](const PickNextTask& c) { return ContextNeeds{.project_id = c.project_id, .graph = true, .candidates = true}; },
          [](const CreateCheckpoint& c) {
            return ContextNeeds{.project_id = c.project_id, .graph = true, .log_position = true};
          },
          [](const RecordDecision& c) {
            return ContextNeeds{.project_id = c.project_id, .graph = c.task_id.has_value(), .decision_id = c.supersedes};
          },
          // The rest name one project or one task, and need nothing beyond it.
          [](const auto& c) {
            if constexpr (requires { c.task_id; }) {
              return ContextNeeds{.task_id = c.task_id};
            } else {
              return ContextNeeds{.project_id = c.project_id};
            }
          },
      },
      command);
}

}  // namespace tasklog
