#include "projections/inline_projector.hpp"

#include "core/overloaded.hpp"
#include "projections/event_fold.hpp"
#include "projections/row_changes.hpp"

#include <set>

namespace tasklog::projections {
namespace {

// The rows a group of events starts from: those that exist before the group. Rows that an event
// of the group creates (a project, a task, a decision) are built by the fold, not loaded.
struct RowsToLoad {
  std::set<Uuid> projects, tasks, decisions;
  std::set<Uuid> created;

  void add(const DomainEvent& event) {
    const EventRoute where = route(event);
    std::visit(Overloaded{
                   [&](const ProjectCreated& e) { created.insert(e.project_id); },
                   [&](const TaskCreated& e) { created.insert(e.task_id); },
                   [&](const DecisionRecorded& e) { created.insert(e.decision_id); },
                   [&](const DecisionSuperseded& e) {
                     if (!created.contains(e.decision_id)) decisions.insert(e.decision_id);
                   },
                   [](const auto&) {},
               },
               event);
    if (created.contains(where.stream_id)) return;
    if (where.stream_type == StreamType::project)
      projects.insert(where.stream_id);
    else
      tasks.insert(where.stream_id);
  }
};

std::vector<Uuid> ids(const std::set<Uuid>& set) { return {set.begin(), set.end()}; }

}  // namespace

void project_inline(pqxx::transaction_base& tx, std::string_view schema, const std::vector<events::RecordedEvent>& recorded) {
  std::vector<std::pair<DomainEvent, EventMeta>> decoded;
  decoded.reserve(recorded.size());
  RowsToLoad to_load;
  for (const auto& r : recorded) {
    decoded.emplace_back(decode_recorded(r), meta_of(r));
    to_load.add(decoded.back().first);
  }

  ProjectModels models;
  for (auto& p : load_projects(tx, ids(to_load.projects), schema)) models[p.id].project = std::move(p);
  for (auto& t : load_tasks(tx, ids(to_load.tasks), schema)) models[t.project_id].tasks.emplace(t.id, std::move(t));
  for (auto& d : load_decisions(tx, ids(to_load.decisions), schema))
    models[d.project_id].decisions.emplace(d.id, std::move(d));

  RowChanges changes;
  for (const auto& [event, meta] : decoded) {
    fold(models, event, meta);
    changes.add(event);
  }
  std::string sql;
  changes.append_sql(sql, tx, schema, [&](const Uuid& project) -> const ProjectModel* {
    const auto it = models.find(project);
    return it == models.end() ? nullptr : &it->second;
  });
  if (!sql.empty()) tx.exec(sql);
}

events::InlineProjector make_inline_projector(std::string schema) {
  return [schema = std::move(schema)](pqxx::transaction_base& tx, const std::vector<events::RecordedEvent>& recorded) {
    project_inline(tx, schema, recorded);
  };
}

}  // namespace tasklog::projections
