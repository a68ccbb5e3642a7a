#include "projections/row_changes.hpp"

#include "core/overloaded.hpp"
#include "events/database.hpp"
#include "projections/read_model_tables.hpp"

#include <algorithm>
#include <iterator>

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

// Where the statements go, always appended to one SQL text that travels in one round trip: as
// literal multi-row statements (LiteralSink: a rebuild's catch-up, many rows per table), or as
// EXECUTEs of statements prepared once per connection (ExecuteSink: the inline projector, a
// handful of rows per command, where parsing and planning a literal multi-column upsert cost
// 0.6-0.9 ms under the append lock, and a round trip per row cost the writer more than that).
class LiteralSink {
 public:
  LiteralSink(std::string& sql, pqxx::transaction_base& tx, std::string_view schema) : sql_(sql), tx_(tx), schema_(schema) {}
  template <class Row>
  void insert(const std::vector<Row>& rows, bool upsert) {
    tables::append_insert<Row>(sql_, tx_, schema_, rows, upsert);
  }
  void remove(std::string_view table, std::string_view owner_column, const std::vector<Uuid>& owners) {
    if (owners.empty()) return;
    sql_ += "DELETE FROM " + tables::qualified(tx_, schema_, table) + " WHERE " + std::string(owner_column) + " IN " +
            columns::id_list(tx_, owners) + ";\n";
  }

 private:
  std::string& sql_;
  pqxx::transaction_base& tx_;
  std::string_view schema_;
};

//
// A table's rows go as one EXECUTE of a statement for that many rows (chunks of kRowsPerStatement):
// PostgreSQL starts an executor per statement — for readmodel.tasks the upsert's ON CONFLICT,
// CHECK constraints read back from the catalog, the stored generated column — and the writer's
// profile during task creates showed that start at ~20 % of its backend when it came once per
// row. The keys of one table's rows differ (RowChanges keeps sets), so an upsert changes each once.
class ExecuteSink {
 public:
  // Statements per table and schema stay few: one per row count up to this, reused by every batch.
  static constexpr std::size_t kRowsPerStatement = 32;

  ExecuteSink(std::string& sql, pqxx::transaction_base& tx, std::string_view schema) : sql_(sql), tx_(tx), schema_(schema) {}
  template <class Row>
  void insert(const std::vector<Row>& rows, bool upsert) {
    for (std::size_t first = 0; first < rows.size(); first += kRowsPerStatement) {
      const std::size_t n = std::min(kRowsPerStatement, rows.size() - first);
      std::vector<columns::SqlText> values;
      for (std::size_t i = first; i < first + n; ++i) std::ranges::move(tables::values_of(rows[i]), std::back_inserter(values));
      columns::append_execute(sql_, tx_, tables::insert_rows_sql<Row>(tx_, schema_, upsert, n), values);
      sql_ += ";\n";
    }
  }
  void remove(std::string_view table, std::string_view owner_column, const std::vector<Uuid>& owners) {
    if (owners.empty()) return;
    columns::append_execute(sql_, tx_,
                            "DELETE FROM " + tables::qualified(tx_, schema_, table) + " WHERE " +
                                std::string(owner_column) + " = ANY ($1::uuid[])",
                            {events::uuid_array(owners)});
    sql_ += ";\n";
  }

 private:
  std::string& sql_;
  pqxx::transaction_base& tx_;
  std::string_view schema_;
};

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
                 [&](const TaskCreated& e) {
                   dependency_lists_.insert({project, e.task_id});
                   created_tasks_.insert(e.task_id);
                 },
                 [&](const TaskDependencyAdded& e) { dependency_lists_.insert({project, e.task_id}); },
                 [&](const TaskDependencyRemoved& e) { dependency_lists_.insert({project, e.task_id}); },
                 [&](const ArtifactAppended& e) { artifacts_.insert({project, e.artifact_id}); },
                 [&](const TaskMessageAppended& e) { messages_.insert({project, e.message_id}); },
                 [](const auto&) {},
             },
             event);
}

template <class Sink>
void RowChanges::write_to(Sink& sink, const ModelOf& model_of) const {
  using namespace tables;
  sink.template insert<ProjectState>(collect<ProjectState>(projects_, model_of, [](const ProjectModel& m, const Uuid&) {
                                return m.project ? &*m.project : nullptr;
                              }),
                              /*upsert=*/true);
  sink.template insert<TaskState>(collect<TaskState>(tasks_, model_of, in(&ProjectModel::tasks)), true);

  // The list tables: delete the owner's old list, insert the new one.
  std::vector<Uuid> owners;
  std::vector<MemberRow> members;
  for (const ProjectState& project : collect<ProjectState>(member_lists_, model_of, [](const ProjectModel& m, const Uuid&) {
         return m.project ? &*m.project : nullptr;
       })) {
    owners.push_back(project.id);
    std::ranges::move(member_rows(project), std::back_inserter(members));
  }
  sink.remove(Table<MemberRow>::name, "project_id", owners);
  sink.template insert<MemberRow>(members, false);

  owners.clear();
  std::vector<DependencyRow> edges;
  for (const TaskState& task : collect<TaskState>(dependency_lists_, model_of, in(&ProjectModel::tasks))) {
    if (!created_tasks_.contains(task.id)) owners.push_back(task.id);  // a new task has no old list
    std::ranges::move(dependency_rows(task), std::back_inserter(edges));
  }
  sink.remove(Table<DependencyRow>::name, "task_id", owners);
  sink.template insert<DependencyRow>(edges, false);

  sink.template insert<ArtifactRow>(collect<ArtifactRow>(artifacts_, model_of, in(&ProjectModel::artifacts)), true);
  sink.template insert<CheckpointRow>(collect<CheckpointRow>(checkpoints_, model_of, in(&ProjectModel::checkpoints)),
                               true);
  sink.template insert<DecisionRow>(collect<DecisionRow>(decisions_, model_of, in(&ProjectModel::decisions)), true);
  // Messages are a list in log order; a new one is at (or near) its end.
  sink.template insert<MessageRow>(collect<MessageRow>(messages_, model_of, [](const ProjectModel& m, const Uuid& id) {
                              const auto it = std::find_if(m.messages.rbegin(), m.messages.rend(),
                                                           [&](const MessageRow& r) { return r.id == id; });
                              return it == m.messages.rend() ? nullptr : &*it;
                            }),
                            true);
}

void RowChanges::append_sql(std::string& sql, pqxx::transaction_base& tx, std::string_view schema,
                            const ModelOf& model_of) const {
  LiteralSink sink(sql, tx, schema);
  write_to(sink, model_of);
}

void RowChanges::append_execute(std::string& sql, pqxx::transaction_base& tx, std::string_view schema,
                                const ModelOf& model_of) const {
  ExecuteSink sink(sql, tx, schema);
  write_to(sink, model_of);
}

}  // namespace tasklog::projections
