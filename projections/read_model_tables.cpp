#include "projections/read_model_tables.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <tuple>

namespace tasklog::projections::tables {

pqxx::field ColumnReader::next(std::string_view name) {
  if (index_ >= row_.size())
    throw columns::BadColumn(fmt::format("the select list ends before column {}", name));
  pqxx::field field = row_[index_++];
  // The select list comes from the same mapping; a mismatch is a bug worth failing loudly on.
  if (std::string_view(field.name()) != name)
    throw columns::BadColumn(fmt::format("column {} read where the mapping expects {}", field.name(), name));
  return field;
}

LeaseColumns LeaseColumns::of(const std::optional<Lease>& lease) {
  if (!lease) return {};
  return {lease->id, lease->agent, lease->acquired_at, lease->expires_at, lease->attempt};
}

std::optional<Lease> LeaseColumns::lease() const {
  if (!id || !agent || !acquired_at || !expires_at || !attempt) return std::nullopt;
  return Lease{*id, *agent, *acquired_at, *expires_at, *attempt};
}

std::string qualified(pqxx::transaction_base& tx, std::string_view schema, std::string_view table) {
  return tx.quote_name(std::string(schema)) + "." + std::string(table);
}

std::string select_list(const std::vector<ColumnInfo>& infos, const std::string& quoted_schema, std::string_view alias) {
  std::string out;
  for (const ColumnInfo& c : infos) {
    if (!out.empty()) out += ", ";
    if (c.derived_sql.empty()) {
      out += columns::select_expression(fmt::format("{}.{}", alias, c.name), c.name, c.timestamp);
    } else {
      out += fmt::format(fmt::runtime(c.derived_sql), fmt::arg("s", quoted_schema), fmt::arg("t", alias));
      out += " AS ";
      out += c.name;
    }
  }
  return out;
}

std::vector<std::string> stored_column_names(const std::vector<ColumnInfo>& infos) {
  std::vector<std::string> names;
  for (const ColumnInfo& c : infos)
    if (c.derived_sql.empty()) names.emplace_back(c.name);
  return names;
}

std::string insert_head(const std::vector<ColumnInfo>& infos, const std::string& table) {
  return fmt::format("INSERT INTO {} ({}) VALUES ", table, fmt::join(stored_column_names(infos), ", "));
}

namespace {

bool in_key(std::string_view key, std::string_view column) {
  for (std::size_t start = 0; start <= key.size();) {
    const std::size_t comma = std::min(key.find(',', start), key.size());
    std::string_view part = key.substr(start, comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part == column) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

std::string upsert_tail(const std::vector<ColumnInfo>& infos, std::string_view key) {
  std::string out = fmt::format(" ON CONFLICT ({}) DO UPDATE SET ", key);
  bool first = true;
  for (const ColumnInfo& c : infos) {
    if (!c.derived_sql.empty() || in_key(key, c.name)) continue;
    if (!first) out += ", ";
    first = false;
    out += fmt::format("{0} = EXCLUDED.{0}", c.name);
  }
  return out;
}

const std::string& insert_rows_sql(const std::vector<ColumnInfo>& infos, const std::string& table,
                                   std::string_view upsert_key, std::size_t rows) {
  // The writer asks for the same few texts batch after batch: each is built once per process.
  static std::mutex mutex;
  static std::map<std::tuple<std::string, std::string, std::size_t>, std::string> texts;
  std::lock_guard lock(mutex);
  auto [it, added] = texts.try_emplace({table, std::string(upsert_key), rows});
  if (!added) return it->second;
  std::string& out = it->second;
  out = insert_head(infos, table);
  int n = 0;
  for (std::size_t row = 0; row < rows; ++row) {
    out += row ? ", (" : "(";
    bool first = true;
    for (const ColumnInfo& c : infos) {
      if (!c.derived_sql.empty()) continue;
      if (!first) out += ", ";
      first = false;
      fmt::format_to(std::back_inserter(out), "${}", ++n);
    }
    out += ")";
  }
  if (!upsert_key.empty()) out += upsert_tail(infos, upsert_key);
  return out;
}

std::vector<MemberRow> member_rows(const ProjectState& project) {
  std::vector<MemberRow> rows;
  for (std::size_t i = 0; i < project.members.size(); ++i)
    rows.push_back({project.id, project.members[i], static_cast<std::int64_t>(i)});
  return rows;
}

std::vector<DependencyRow> dependency_rows(const TaskState& task) {
  std::vector<DependencyRow> rows;
  for (std::size_t i = 0; i < task.dependencies.size(); ++i)
    rows.push_back({task.id, task.dependencies[i], task.project_id, static_cast<std::int64_t>(i)});
  return rows;
}

ListRows load_list_rows(pqxx::transaction_base& tx, std::string_view schema) {
  ListRows rows;
  for (const auto& r : tx.exec(select_from<MemberRow>(tx, schema, "x"))) rows.members.push_back(decode<MemberRow>(r));
  for (const auto& r : tx.exec(select_from<DependencyRow>(tx, schema, "x")))
    rows.dependencies.push_back(decode<DependencyRow>(r));
  return rows;
}

}  // namespace tasklog::projections::tables
