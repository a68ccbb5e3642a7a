#include "core/project.hpp"

#include <algorithm>

namespace tasklog {

std::string Gate::label() const { return kind == GateKind::custom ? name : std::string(enum_name(kind)); }

const Member* ProjectState::member(const Uuid& user_id) const {
  const auto it = std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.user_id == user_id; });
  return it == members.end() ? nullptr : &*it;
}

}  // namespace tasklog
