// A pure in-memory engine for core tests: loads what context_needs() asks for from a
// ProjectModel, decides, folds the events back with increasing positions and versions — the
// loop the real engine runs against PostgreSQL, minus the database.
#pragma once

#include "core/decide.hpp"
#include "core/error.hpp"
#include "core/evolve.hpp"
#include "core/ids.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tasklog::testing {

using namespace std::chrono_literals;

inline const Timestamp kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + std::chrono::hours{9};

inline Uuid named_id(const std::string& name) { return derived_uuid("test:" + name); }

// Runs fn and returns the DomainError it throws; fails the test if it throws none.
inline DomainError refusal(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const DomainError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a DomainError, none was thrown";
  return DomainError(ErrorCode::internal, "none thrown");
}

inline rapidjson::Document details(const DomainError& e) {
  rapidjson::Document doc;
  doc.Parse(e.details_json().c_str());
  return doc;
}

inline std::string str(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

class DomainWorld {
 public:
  Timestamp now = kT0;
  Uuid actor = named_id("alice");
  ProjectModel model;
  std::int64_t position = 0;
  std::optional<std::int64_t> expected_version;
  std::vector<std::pair<DomainEvent, EventMeta>> log;  // every event applied, as the log would hold it

  Uuid next_id() { return named_id("generated-" + std::to_string(++ids_)); }

  CommandContext context_for(const Command& command) {
    const ContextNeeds needs = context_needs(command);
    CommandContext ctx;
    ctx.now = now;
    ctx.actor = actor;
    ctx.new_id = [this] { return next_id(); };
    ctx.lease_token = next_id();  // what a claim hands out (run() remembers it per task)
    ctx.expected_version = expected_version;
    if (needs.task_id) {
      if (auto it = model.tasks.find(*needs.task_id); it != model.tasks.end()) {
        ctx.task = it->second;
        if (model.project && model.project->id == it->second.project_id) ctx.project = model.project;
      }
    } else if (needs.project_id && model.project && model.project->id == *needs.project_id) {
      ctx.project = model.project;
    }
    if (needs.graph)
      for (const auto& [id, t] : model.tasks) ctx.graph[id] = TaskNode{t.status, t.dependencies};
    if (needs.candidates)
      for (const auto& [id, t] : model.tasks)
        if (t.status == TaskStatus::todo) ctx.candidates.push_back(t);
    if (needs.decision_id)
      if (auto it = model.decisions.find(*needs.decision_id); it != model.decisions.end()) ctx.superseded_decision = it->second;
    if (needs.log_position) ctx.log_position = position;
    return ctx;
  }

  std::vector<DomainEvent> run(const Command& command) {
    const CommandContext ctx = context_for(command);
    std::vector<DomainEvent> events = decide(ctx, command);
    for (const DomainEvent& e : events) {
      if (const auto* claimed = std::get_if<TaskClaimed>(&e)) tokens[claimed->task_id] = *ctx.lease_token;
      apply(e);
    }
    return events;
  }

  void apply(const DomainEvent& event) {
    const EventRoute r = route(event);
    const EventMeta meta{++position, ++versions_[r.stream_id], actor, now};
    evolve(model, event, meta);
    log.emplace_back(event, meta);
  }

  DomainError refused(const Command& command) {
    return refusal([&] { run(command); });
  }

  // Convenience builders for the common setup steps.
  Uuid create_project(ProjectRules rules = {}) {
    const auto events = run(CreateProject{"demo", "a demo project", std::move(rules)});
    return std::get<ProjectCreated>(events.at(0)).project_id;
  }

  Uuid create_task(const std::string& title, std::vector<Uuid> dependencies = {}, Priority priority = Priority::medium,
                   std::vector<std::string> criteria = {}) {
    CreateTask c;
    c.project_id = model.project->id;
    c.title = title;
    c.priority = priority;
    c.dependencies = std::move(dependencies);
    c.acceptance_criteria = std::move(criteria);
    const auto events = run(c);
    return std::get<TaskCreated>(events.at(0)).task_id;
  }

  Uuid claim(const Uuid& task, const std::string& agent = "agent-1", std::optional<std::int64_t> seconds = 60) {
    const auto events = run(ClaimTask{task, agent, seconds});
    return tokens.at(std::get<TaskClaimed>(events.at(0)).task_id);
  }

  // The token of each task's last claim, as its agent got it (the events carry only its id).
  std::map<Uuid, Uuid> tokens;

  const TaskState& task(const Uuid& id) const { return model.tasks.at(id); }
  const ProjectState& project() const { return *model.project; }

 private:
  int ids_ = 0;
  std::map<Uuid, std::int64_t> versions_;
};

}  // namespace tasklog::testing
