// Completion gates: each gate of the project's rules judged against a task. Built-in gates are
// judged from the task's own state (artifacts, criteria, last scope check); custom gates pass
// when the agent reports them passed.
//
// A scope check and a report of custom gates are judgments of the work as it stood then, so
// while the task is held only those made under the current lease count: an attempt that failed,
// expired or was released — or a task done and reopened — does not pass its checks on to the
// next attempt, which may have changed other files or broken what was reviewed. (Artifacts and
// acceptance criteria are the task's record and count whatever attempt added them.)
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

// The custom gates the task's last evaluation recorded as passed, if it was made under the
// task's current lease (or the task is not held): what completion relies on.
std::vector<std::string> custom_gates_passed(const TaskState& task);

// Whether a judgment recorded at `at` counts for the task now: made under its current lease, or
// the task is held by nobody.
bool in_current_attempt(const TaskState& task, Timestamp at);

}  // namespace tasklog
