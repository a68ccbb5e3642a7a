#include "core/task_graph.hpp"

#include <algorithm>
#include <set>

namespace tasklog {

std::vector<Uuid> find_cycle(const TaskGraph& graph, const Uuid& task, const Uuid& depends_on) {
  if (task == depends_on) return {task, task};
  // Depth-first from depends_on along existing edges; reaching `task` means the new edge closes
  // a cycle. parent[] remembers how each node was reached so the path can be named.
  std::map<Uuid, Uuid> parent;
  std::set<Uuid> seen{depends_on};
  std::vector<Uuid> stack{depends_on};
  while (!stack.empty()) {
    const Uuid node = stack.back();
    stack.pop_back();
    const auto it = graph.find(node);
    if (it == graph.end()) continue;
    // Reverse push so the first-listed dependency is explored first.
    for (auto dep = it->second.dependencies.rbegin(); dep != it->second.dependencies.rend(); ++dep) {
      if (!seen.insert(*dep).second) continue;
      parent[*dep] = node;
      if (*dep == task) {
        std::vector<Uuid> path{task};
        for (Uuid at = node; at != depends_on; at = parent.at(at)) path.push_back(at);
        path.push_back(depends_on);
        path.push_back(task);
        // path is task, ..., depends_on, task read backwards from the closing edge; put it in
        // dependency order: task -> depends_on -> ... -> task.
        std::reverse(path.begin() + 1, path.end() - 1);
        return path;
      }
      stack.push_back(*dep);
    }
  }
  return {};
}

std::vector<Uuid> open_dependencies(const std::vector<Uuid>& dependencies, const TaskGraph& graph) {
  std::vector<Uuid> open;
  for (const Uuid& dep : dependencies) {
    const auto it = graph.find(dep);
    if (it == graph.end() || it->second.status != TaskStatus::done) open.push_back(dep);
  }
  return open;
}

std::map<Uuid, std::size_t> waiting_dependents(const TaskGraph& graph) {
  std::map<Uuid, std::vector<Uuid>> dependents;  // reverse edges
  for (const auto& [id, node] : graph)
    for (const Uuid& dep : node.dependencies) dependents[dep].push_back(id);

  std::map<Uuid, std::size_t> counts;
  for (const auto& [id, node] : graph) {
    std::set<Uuid> reached;
    std::vector<Uuid> stack{id};
    while (!stack.empty()) {
      const Uuid at = stack.back();
      stack.pop_back();
      for (const Uuid& d : dependents[at])
        if (reached.insert(d).second) stack.push_back(d);
    }
    counts[id] = std::count_if(reached.begin(), reached.end(), [&](const Uuid& d) {
      const auto it = graph.find(d);
      return it != graph.end() && !is_terminal(it->second.status);
    });
  }
  return counts;
}

}  // namespace tasklog
