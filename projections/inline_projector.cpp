#include "projections/inline_projector.hpp"

#include "core/overloaded.hpp"
#include "projections/event_fold.hpp"
#include "projections/row_changes.hpp"
#include "projections/row_handoff.hpp"

#include <set>

namespace tasklog::projections {
namespace {

// The rows a group of events starts from: those that exist before the group. Rows that an event
// of the group creates (a project, a task, a decision) are built by the fold, and rows handed over
// by the engine's decider are there already: neither is read.
struct RowsToLoad {
  std::set<Uuid> projects, tasks, decisions;
  std::set<Uuid> created;  // created by the group or handed over

  // Whether an earlier event of the group already decided where this stream's row comes from.
  bool settled(const Uuid& stream) const {
    return created.contains(stream) || projects.contains(stream) || tasks.contains(stream);
  }

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

// Seeds models with the row the engine handed over for this event, if it is the stream's row just
// before the event. Returns whether it did.
bool seed_handed_row(ProjectModels& models, const events::RecordedEvent& event) {
  std::optional<HandedRow> handed = RowHandoff::instance().take(event.event_id);
  if (!handed) return false;
  return std::visit(Overloaded{
                        [&](ProjectState& p) {
                          if (p.id != event.stream_id || p.version != event.version - 1) return false;
                          const Uuid id = p.id;
                          models[id].project = std::move(p);
                          return true;
                        },
                        [&](TaskState& t) {
                          if (t.id != event.stream_id || t.version != event.version - 1) return false;
                          const Uuid project = t.project_id, id = t.id;
                          models[project].tasks.insert_or_assign(id, std::move(t));
                          return true;
                        },
                    },
                    *handed);
}

}  // namespace

void project_inline(pqxx::transaction_base& tx, std::string_view schema, const std::vector<events::RecordedEvent>& recorded,
                    std::string& sql) {
  std::vector<std::pair<DomainEvent, EventMeta>> decoded;
  decoded.reserve(recorded.size());
  RowsToLoad to_load;
  ProjectModels models;
  for (const auto& r : recorded) {
    if (!to_load.settled(r.stream_id) && seed_handed_row(models, r)) to_load.created.insert(r.stream_id);
    decoded.emplace_back(decode_recorded(r), meta_of(r));
    to_load.add(decoded.back().first);
  }

  for (auto& p : load_projects(tx, ids(to_load.projects), schema)) models[p.id].project = std::move(p);
  for (auto& t : load_tasks(tx, ids(to_load.tasks), schema)) models[t.project_id].tasks.emplace(t.id, std::move(t));
  for (auto& d : load_decisions(tx, ids(to_load.decisions), schema))
    models[d.project_id].decisions.emplace(d.id, std::move(d));

  RowChanges changes;
  for (const auto& [event, meta] : decoded) {
    fold(models, event, meta);
    changes.add(event);
  }
  changes.append_execute(sql, tx, schema, [&](const Uuid& project) -> const ProjectModel* {
    const auto it = models.find(project);
    return it == models.end() ? nullptr : &it->second;
  });
}

events::InlineProjector make_inline_projector(std::string schema) {
  return [schema = std::move(schema)](pqxx::transaction_base& tx, const std::vector<events::RecordedEvent>& recorded,
                                      std::string& sql) { project_inline(tx, schema, recorded, sql); };
}

}  // namespace tasklog::projections
