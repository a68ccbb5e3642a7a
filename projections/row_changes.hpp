// Which read-model rows events change (mirroring the table in core/evolve.hpp), and the SQL that
// writes those rows from the models after the fold. Collecting first and writing once lets the
// inline projector save a whole group of events in one round trip, each row once.
//
// Internal to projections/. Not thread-safe (a value).
#pragma once

#include "core/domain_events.hpp"
#include "core/evolve.hpp"

#include <pqxx/pqxx>

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace tasklog::projections {

class RowChanges {
 public:
  // Records the rows `event` changes.
  void add(const DomainEvent& event);

  // Appends the statements that write every recorded row, read from the model of its project
  // (model_of returns nullptr for a project it does not have; such rows are skipped).
  using ModelOf = std::function<const ProjectModel*(const Uuid& project_id)>;
  void append_sql(std::string& sql, pqxx::transaction_base& tx, std::string_view schema, const ModelOf& model_of) const;
  // The same rows as EXECUTEs of statements prepared on tx's connection (one per table and schema,
  // prepared now if need be), a row each (see ExecuteSink in the .cpp).
  void append_execute(std::string& sql, pqxx::transaction_base& tx, std::string_view schema,
                      const ModelOf& model_of) const;

 private:
  template <class Sink>
  void write_to(Sink& sink, const ModelOf& model_of) const;

  using Key = std::pair<Uuid, Uuid>;  // (project id, row id)
  std::set<Key> projects_;
  std::set<Key> member_lists_;      // by project: the whole list is rewritten
  std::set<Key> tasks_;
  std::set<Key> dependency_lists_;  // by task: the whole list is rewritten
  std::set<Uuid> created_tasks_;    // tasks these events create: no list to delete first
  std::set<Key> artifacts_;
  std::set<Key> checkpoints_;
  std::set<Key> decisions_;
  std::set<Key> messages_;
};

}  // namespace tasklog::projections
