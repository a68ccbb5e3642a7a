#include "core/chooser.hpp"

#include <algorithm>
#include <tuple>

namespace tasklog {

bool is_ready(const TaskState& task, const TaskGraph& graph, Timestamp now) {
  return task.status == TaskStatus::todo && !task.has_live_lease(now) &&
         (!task.next_retry_at || *task.next_retry_at <= now) && open_dependencies(task.dependencies, graph).empty();
}

std::optional<Uuid> choose_next_task(const std::vector<TaskState>& candidates, const TaskGraph& graph,
                                     PickStrategy strategy, Timestamp now) {
  std::vector<const TaskState*> ready;
  for (const TaskState& t : candidates)
    if (is_ready(t, graph, now)) ready.push_back(&t);
  if (ready.empty()) return std::nullopt;

  const auto waiting = strategy == PickStrategy::dependencies ? waiting_dependents(graph) : std::map<Uuid, std::size_t>{};
  auto waiting_on = [&](const TaskState* t) {
    const auto it = waiting.find(t->id);
    return it == waiting.end() ? std::size_t{0} : it->second;
  };
  // Each key sorts ascending; negate what should come first when larger.
  auto before = [&](const TaskState* a, const TaskState* b) {
    const auto urgency = [](const TaskState* t) { return -static_cast<int>(t->priority); };
    switch (strategy) {
      case PickStrategy::priority:
        return std::tuple{urgency(a), a->created_at, a->id} < std::tuple{urgency(b), b->created_at, b->id};
      case PickStrategy::dependencies:
        return std::tuple{waiting_on(b), urgency(a), a->created_at, a->id} <
               std::tuple{waiting_on(a), urgency(b), b->created_at, b->id};
      case PickStrategy::oldest:
        return std::tuple{a->created_at, a->id} < std::tuple{b->created_at, b->id};
      case PickStrategy::newest:
        return std::tuple{b->created_at, a->id} < std::tuple{a->created_at, b->id};
    }
    return false;
  };
  return (*std::min_element(ready.begin(), ready.end(), before))->id;
}

}  // namespace tasklog
