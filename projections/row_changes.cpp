#include "projections/row_changes.hpp"

#include "core/overloaded.hpp"
#include "projections/read_model_tables.hpp"

#include <algorithm>

namespace tasklog::projections {
namespace {

using Key = std::pair<Uuid, Uuid>;  // (project id, row id)
using ModelOf = RowChanges::ModelOf;

// The rows of one kind that the models hold, for the recorded keys.
template <class Row, class Find>
std::vector<Row> collect(const std::set<Key>& keys, const ModelOf& model_of, Find find) {
  std::vector<Row> out;
  for (const auto& [project, id] : keys)
    if (const ProjectModel* model = model_of(project))
      if (const Row* row = find(*model, id)) out.push_back(*row);
  return out;
}

// A finder for one of the model's maps by id.
template <class Map>
auto in(Map ProjectModel::*member) {
  return [member](const ProjectModel& m, const Uuid& id) -> const typename Map::mapped_type* {
    const auto it = (m.*member).find(id);
    return it == (m.*member).end() ? nullptr : &it->second;
  };
}

void append_delete(std::string& sql, pqxx::transaction_base& tx, std::string_view schema, std::string_view table,
                   std::string_view owner_column, const std::vector<Uuid>& owners) {
  if (owners.empty()) return;
  sql += "DELETE FROM " + tables::qualified(tx, schema, table) + " WHERE " + std::string(owner_column) + " IN " +
         columns::id_list(tx, owners) + ";\n";
}

}  // namespace

void RowChanges::add(const DomainEvent& event) {
  const EventRoute where = route(event);
  const Uuid& project = where.project_id;
  if (where.stream_type == StreamType::project)
    projects_.insert({project, project});
  else
    tasks_.insert({project, where.stream_id});
  // Rows beside the stream's own row; every other event changes only that row.
  std::visit(Overloaded{
                 [&](const ProjectCreated&) { member_lists_.insert({project, project}); },
                 [&](const ProjectMemberAdded&) { member_lists_.insert({project, project}); },
                 [&](const ProjectMemberRemoved&) { member_lists_.insert({project, project}); },
                 [&](const CheckpointCreated& e) { checkpoints_.insert({project, e.checkpoint_id}); },
                 [&](const DecisionRecorded& e) { decisions_.insert({project, e.decision_id}); },
                 [&](const DecisionSuperseded& e) { decisions_.insert({project, e.decision_id}); },
                 [&](const TaskCreated& e) { dependency_lists_.insert({project, e.task_id}); },
                 [&](const TaskDependencyAdded& e) { dependency_lists_.insert({project, e.task_id}); },
                 [&](const TaskDependencyRemoved& e) { dependency_lists_.insert({project, e.task_id}); },
                 [&](const ArtifactAppended& e) { artifacts_.insert({project, e.artifact_id}); },
                 [&](const TaskMessageAppended& e) { messages_.insert({project, e.message_id}); },
                 [](const auto&) {},
             },
             event);
}

void RowChanges::append_sql(std::string& sql, pqxx::transaction_base& tx, std::string_view schema,
                            const ModelOf& model_of) const {
  using namespace tables;
  append_insert<ProjectState>(sql, tx, schema, collect<ProjectState>(projects_, model_of, [](const ProjectModel& m, const Uuid&) {
                                return m.project ? &*m.project : nullptr;
                              }),
                              /*upsert=*/true);
  append_insert<TaskState>(sql, tx, schema, collect<TaskState>(tasks_, model_of, in(&ProjectModel::tasks)), true);

  // The list tables: delete the owner's old list, insert the new one.
  std::vector<Uuid> owners;
  std::vector<MemberRow> members;
  for (const ProjectState& project : collect<ProjectState>(member_lists_, model_of, [](const ProjectModel& m, const Uuid&) {
         return m.project ? &*m.project : nullptr;
       })) {
    owners.push_back(project.id);
    std::ranges::move(member_rows(project), std::back_inserter(members));
  }
  append_delete(sql, tx, schema, Table<MemberRow>::name, "project_id", owners);
  append_insert<MemberRow>(sql, tx, schema, members, false);

  owners.clear();
  std::vector<DependencyRow> edges;
  for (const TaskState& task : collect<TaskState>(dependency_lists_, model_of, in(&ProjectModel::tasks))) {
    owners.push_back(task.id);
    std::ranges::move(dependency_rows(task), std::back_inserter(edges));
  }
  append_delete(sql, tx, schema, Table<DependencyRow>::name, "task_id", owners);
  append_insert<DependencyRow>(sql, tx, schema, edges, false);

  append_insert<ArtifactRow>(sql, tx, schema, collect<ArtifactRow>(artifacts_, model_of, in(&ProjectModel::artifacts)), true);
  append_insert<CheckpointRow>(sql, tx, schema, collect<CheckpointRow>(checkpoints_, model_of, in(&ProjectModel::checkpoints)),
                               true);
  append_insert<DecisionRow>(sql, tx, schema, collect<DecisionRow>(decisions_, model_of, in(&ProjectModel::decisions)), true);
  // Messages are a list in log order; a new one is at (or near) its end.
  append_insert<MessageRow>(sql, tx, schema, collect<MessageRow>(messages_, model_of, [](const ProjectModel& m, const Uuid& id) {
                              const auto it = std::find_if(m.messages.rbegin(), m.messages.rend(),
                                                           [&](const MessageRow& r) { return r.id == id; });
                              return it == m.messages.rend() ? nullptr : &*it;
                            }),
                            true);
}

}  // namespace tasklog::projections
