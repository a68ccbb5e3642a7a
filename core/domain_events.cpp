#include "core/domain_events.hpp"

#include "core/overloaded.hpp"

namespace tasklog {

std::string_view stream_type_name(StreamType type) {
  switch (type) {
    case StreamType::project: return "project";
    case StreamType::task: return "task";
  }
  return "task";
}

EventRoute route(const DomainEvent& event) {
  return std::visit(Overloaded{
                        [](const TaskStreamEvent auto& e) {
                          return EventRoute{e.task_id, StreamType::task, e.project_id, e.task_id};
                        },
                        [](const ProjectStreamEvent auto& e) {
                          EventRoute r{e.project_id, StreamType::project, e.project_id, std::nullopt};
                          // Project-stream events about a task (a checkpoint or decision for it) are
                          // still labelled with it, so the task's timeline shows them.
                          if constexpr (requires { e.task_id; }) r.task_id = e.task_id;
                          return r;
                        },
                    },
                    event);
}

std::string_view event_type_name(const DomainEvent& event) {
  return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::type_name; }, event);
}

int event_schema_version(const DomainEvent& event) {
  return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::schema_version; }, event);
}

}  // namespace tasklog
