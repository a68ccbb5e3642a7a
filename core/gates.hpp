// Completion gates: each gate of the project's rules judged against a task. Built-in gates are
// judged from the task's own state (artifacts, criteria, last scope check); custom gates pass
// when the agent reports them passed.
#pragma once

#include "core/project.hpp"
#include "core/task.hpp"

#include <string>
#include <vector>

namespace tasklog {

// One result per gate of `rules`, in the rules' order. `custom_passed` names the custom gates
// reported passed; names not among the rules' custom gates are ignored.
std::vector<GateResult> evaluate_gates(const ProjectRules& rules, const TaskState& task,
                                       const std::vector<std::string>& custom_passed);

bool all_passed(const std::vector<GateResult>& results);

// The custom gates the task's last evaluation recorded as passed: what completion relies on.
std::vector<std::string> custom_gates_passed(const TaskState& task);

}  // namespace tasklog
