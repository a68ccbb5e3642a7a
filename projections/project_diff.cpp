#include "projections/project_diff.hpp"

#include "core/terminal_text.hpp"
#include "projections/fold.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <stdexcept>

namespace tasklog::projections {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

enum class Kind { added, changed, removed };

Kind kind_of(const RowChange& c) {
  if (c.before.empty()) return Kind::added;
  if (c.after.empty()) return Kind::removed;
  return Kind::changed;
}

void raw(Writer& w, const std::string& json) { w.RawValue(json.data(), json.size(), rapidjson::kObjectType); }

void write_row(Writer& w, const RowChange::Columns& columns) {
  w.StartObject();
  for (const auto& [name, value] : columns) {
    w.Key(name.data(), rapidjson::SizeType(name.size()));
    raw(w, value);
  }
  w.EndObject();
}

// The columns whose value differs, with both values; the columns come in the table's order on
// both sides (one mapping), so they pair up by index.
std::vector<std::pair<const RowChange::Columns::value_type*, const RowChange::Columns::value_type*>> changed_columns(
    const RowChange& c) {
  std::vector<std::pair<const RowChange::Columns::value_type*, const RowChange::Columns::value_type*>> out;
  for (std::size_t i = 0; i < c.before.size() && i < c.after.size(); ++i)
    if (c.before[i].second != c.after[i].second) out.emplace_back(&c.before[i], &c.after[i]);
  return out;
}

// A short name of a row for a person: its title, label, name or summary, when it has one.
std::string label_of(const RowChange::Columns& columns) {
  for (const char* name : {"title", "label", "name", "summary", "ref", "user_id", "depends_on"})
    for (const auto& [column, value] : columns)
      // fmt, not " " + std::string: GCC 12 at -O3 flags that insert with a false -Wrestrict.
      if (column == name && value != "null" && value != "\"\"") return fmt::format(" {}", for_terminal(value));
  return {};
}

// A diff, like the context, shows who holds a task, not the lease behind it: the column holds the
// lease's id (a fingerprint of the holder's token, never a token that acts), which says nothing to
// a reader.
bool secret(const std::string& table, const std::string& column) { return table == "tasks" && column == "lease_token"; }

std::vector<RowChange> without_secrets(std::vector<RowChange> changes) {
  std::vector<RowChange> out;
  for (RowChange& c : changes) {
    for (auto* columns : {&c.before, &c.after})
      std::erase_if(*columns, [&](const auto& column) { return secret(c.table, column.first); });
    if (c.before != c.after) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

std::optional<ProjectDiff> diff_project(pqxx::transaction_base& tx, const Uuid& project_id, Position from, Position to) {
  if (from > to) throw std::invalid_argument(fmt::format("from ({}) is after to ({})", from, to));
  ProjectModel before;
  const FoldResult first = fold_project(tx, project_id, before, 0, from);
  ProjectModel after = before;
  const FoldResult second = fold_project(tx, project_id, after, from, to);
  if (first.events + second.events == 0 || !after.project) return std::nullopt;
  return ProjectDiff{
      .project_id = project_id, .from = from, .to = to, .events = second.events, .changes = without_secrets(row_changes(before, after))};
}

std::string ProjectDiff::json() const {
  std::map<std::string, std::vector<const RowChange*>> by_table;
  std::vector<std::string> order;  // tables in the order of the changes (model_diff's fixed order)
  for (const RowChange& c : changes) {
    if (!by_table.count(c.table)) order.push_back(c.table);
    by_table[c.table].push_back(&c);
  }
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("project_id"); w.String(to_string(project_id));
  w.Key("from"); w.Int64(from);
  w.Key("to"); w.Int64(to);
  w.Key("events"); w.Uint64(events);
  w.Key("tables");
  w.StartObject();
  for (const std::string& table : order) {
    w.Key(table.data(), rapidjson::SizeType(table.size()));
    w.StartObject();
    for (const Kind kind : {Kind::added, Kind::changed, Kind::removed}) {
      w.Key(kind == Kind::added ? "added" : kind == Kind::changed ? "changed" : "removed");
      w.StartArray();
      for (const RowChange* c : by_table[table]) {
        if (kind_of(*c) != kind) continue;
        if (kind == Kind::added) {
          write_row(w, c->after);
        } else if (kind == Kind::removed) {
          write_row(w, c->before);
        } else {
          w.StartObject();
          w.Key("id"); w.String(c->row);
          w.Key("fields");
          w.StartObject();
          for (const auto& [b, a] : changed_columns(*c)) {
            w.Key(b->first.data(), rapidjson::SizeType(b->first.size()));
            w.StartObject();
            w.Key("from"); raw(w, b->second);
            w.Key("to"); raw(w, a->second);
            w.EndObject();
          }
          w.EndObject();
          w.EndObject();
        }
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string ProjectDiff::describe() const {
  std::string out = fmt::format("project {}: {} event{} after position {} up to {}\n", to_string(project_id), events,
                                events == 1 ? "" : "s", from, to);
  if (changes.empty()) return out + "no changes\n";
  std::string table;
  for (const RowChange& c : changes) {
    if (c.table != table) {
      table = c.table;
      out += table + "\n";
    }
    switch (kind_of(c)) {
      case Kind::added: out += fmt::format("  + {}{}\n", c.row, label_of(c.after)); break;
      case Kind::removed: out += fmt::format("  - {}{}\n", c.row, label_of(c.before)); break;
      case Kind::changed: {
        out += fmt::format("  ~ {}{}\n", c.row, label_of(c.after));
        for (const auto& [b, a] : changed_columns(c))
          out += fmt::format("      {}: {} -> {}\n", b->first, for_terminal(b->second), for_terminal(a->second));
        break;
      }
    }
  }
  return out;
}

}  // namespace tasklog::projections
