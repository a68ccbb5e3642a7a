#include "projections/rebuild.hpp"

#include "events/database.hpp"
#include "events/event_reader.hpp"
#include "projections/read_model_store.hpp"
#include "projections/row_changes.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace tasklog::projections {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Held for the whole rebuild on the caller's session; released however it ends.
class RebuildLock {
 public:
  explicit RebuildLock(pqxx::connection_base& c) : c_(c) {
    pqxx::nontransaction tx(c_);
    if (!tx.exec_params1("SELECT pg_try_advisory_lock($1)", kRebuildLockKey)[0].as<bool>())
      throw std::runtime_error("another rebuild is running on this database");
  }
  ~RebuildLock() {
    try {
      pqxx::nontransaction tx(c_);
      tx.exec_params("SELECT pg_advisory_unlock($1)", kRebuildLockKey);
    } catch (...) {
      // The connection is gone, and the session lock with it.
    }
  }
  RebuildLock(const RebuildLock&) = delete;
  RebuildLock& operator=(const RebuildLock&) = delete;

 private:
  pqxx::connection_base& c_;
};

bool schema_exists(pqxx::transaction_base& tx, std::string_view schema) {
  return tx.exec_params1("SELECT to_regnamespace($1) IS NOT NULL", tx.quote_name(std::string(schema)))[0].as<bool>();
}

// Objects outside `schema` that depend on objects in it (a view, a foreign key, a row-level
// security policy on events that consults project_members ...). DROP SCHEMA ... CASCADE at the
// swap would silently drop them with the old tables, so the swap refuses instead. A dependent of
// a kind not mapped here counts as outside: refusing is safe, dropping is not.
std::vector<std::string> outside_dependents(pqxx::transaction_base& tx, std::string_view schema) {
  const auto rows = tx.exec_params(R"SQL(
SELECT DISTINCT o.type || ' ' || o.identity
  FROM pg_depend d
  JOIN pg_class c ON d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
 CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) o
 WHERE c.relnamespace = to_regnamespace($1) AND d.deptype = 'n'
   AND coalesce(CASE d.classid
         WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = d.objid)
         WHEN 'pg_rewrite'::regclass THEN
           (SELECT r.relnamespace FROM pg_rewrite w JOIN pg_class r ON r.oid = w.ev_class WHERE w.oid = d.objid)
         WHEN 'pg_policy'::regclass THEN
           (SELECT r.relnamespace FROM pg_policy p JOIN pg_class r ON r.oid = p.polrelid WHERE p.oid = d.objid)
         WHEN 'pg_attrdef'::regclass THEN
           (SELECT r.relnamespace FROM pg_attrdef a JOIN pg_class r ON r.oid = a.adrelid WHERE a.oid = d.objid)
         WHEN 'pg_constraint'::regclass THEN
           (SELECT coalesce(r.relnamespace, k.connamespace) FROM pg_constraint k
              LEFT JOIN pg_class r ON r.oid = k.conrelid WHERE k.oid = d.objid)
         WHEN 'pg_trigger'::regclass THEN
           (SELECT r.relnamespace FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid WHERE t.oid = d.objid)
         WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = d.objid)
         WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = d.objid)
       END, 0) <> to_regnamespace($1)
 ORDER BY 1)SQL",
                                   tx.quote_name(std::string(schema)));
  std::vector<std::string> names;
  for (const auto& row : rows) names.emplace_back(row[0].c_str());
  return names;
}

bool is_lock_timeout(const pqxx::sql_error& e) { return e.sqlstate() == "55P03"; }

class Rebuild {
 public:
  Rebuild(const std::string& conninfo, pqxx::connection_base& c, const RebuildOptions& options)
      : conninfo_(conninfo), c_(c), options_(options) {
    if (options_.shadow_schema.empty() || options_.shadow_schema == kReadSchema)
      throw std::invalid_argument("the shadow schema must be a name other than " + std::string(kReadSchema));
  }

  RebuildReport run() {
    const auto start = Clock::now();
    fold_to_head();
    write_shadow();
    try {
      swap();
    } catch (...) {
      drop_shadow();
      throw;
    }
    report_.projects = models_.size();
    report_.total_seconds = seconds_since(start);
    return report_;
  }

 private:
  void notify(RebuildProgress::Stage stage, const FoldProgress& fold = {}) const {
    if (options_.progress) options_.progress({stage, fold});
  }

  FoldOptions fold_options(RebuildProgress::Stage stage) const {
    FoldOptions fold{.batch = options_.batch};
    if (options_.progress) fold.progress = [this, stage](const FoldProgress& p) { notify(stage, p); };
    return fold;
  }

  // Folds (position_, up_to] and writes every row it touched into the shadow through tx: per
  // chunk of `batch` events, each touched row once, in one statement (row_changes.hpp), rather
  // than a round trip per event.
  std::uint64_t fold_into_shadow(pqxx::transaction_base& tx, Position up_to, RebuildProgress::Stage stage) {
    std::uint64_t folded = 0;
    const RowChanges::ModelOf model_of = [this](const Uuid& project_id) -> const ProjectModel* {
      const auto it = models_.find(project_id);
      return it == models_.end() ? nullptr : &it->second;
    };
    while (position_ < up_to) {
      RowChanges changes;
      FoldOptions fold{.batch = options_.batch};
      fold.on_event = [&changes](const ProjectModel&, const DecodedEvent& decoded) { changes.add(decoded.event); };
      const Position chunk_end = std::min<Position>(up_to, position_ + Position(options_.batch));
      const FoldResult result = fold_log(tx, models_, position_, chunk_end, fold);
      if (result.events == 0) break;
      std::string sql;
      changes.append_sql(sql, tx, options_.shadow_schema, model_of);
      if (!sql.empty()) tx.exec(sql);
      position_ = result.position;
      folded += result.events;
      notify(stage, {position_, up_to, folded});
    }
    report_.events_folded += folded;
    return folded;
  }

  // Step 1, the long one: reading and decoding overlap with folding (fold_log_prefetching). Every
  // position up to H0 is committed, so reading them on another connection sees the same events.
  void fold_to_head() {
    const auto start = Clock::now();
    {
      pqxx::read_transaction tx(c_, "rebuild head");
      report_.head_at_start = events::EventReader(tx).head();
    }
    const FoldResult result =
        fold_log_prefetching(conninfo_, models_, 0, report_.head_at_start, fold_options(RebuildProgress::Stage::fold));
    position_ = result.position;
    report_.events_folded = result.events;
    report_.fold_seconds = seconds_since(start);
  }

  // Step 2. A shadow left by a rebuild that died is ours to drop: the rebuild lock is held.
  void write_shadow() {
    const auto start = Clock::now();
    notify(RebuildProgress::Stage::write, {position_, position_, report_.events_folded});
    pqxx::work tx(c_, "rebuild write");
    tx.exec0("DROP SCHEMA IF EXISTS " + tx.quote_name(options_.shadow_schema) + " CASCADE");
    create_read_model_schema(tx, options_.shadow_schema);
    // Secondary indexes are built once after the bulk write rather than row by row during it.
    const auto indexes = tx.exec_params(
        "SELECT format('%I.%I', schemaname, indexname), indexdef FROM pg_indexes i WHERE schemaname = $1 "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I.%I', schemaname, indexname)::regclass)",
        options_.shadow_schema);
    for (const auto& index : indexes) tx.exec0(std::string("DROP INDEX ") + index[0].c_str());
    write_all(tx, options_.shadow_schema, models_);
    for (const auto& index : indexes) tx.exec0(index[1].c_str());
    tx.commit();
    report_.write_seconds = seconds_since(start);
  }

  // After a failed swap: the shadow is of no use any more (a next rebuild would drop it too).
  void drop_shadow() noexcept {
    try {
      pqxx::work tx(c_, "rebuild cleanup");
      tx.exec0("DROP SCHEMA IF EXISTS " + tx.quote_name(options_.shadow_schema) + " CASCADE");
      tx.commit();
    } catch (...) {
      // The connection is gone; the next rebuild drops the shadow.
    }
  }

  // Step 3: appenders run on; each pass shortens the tail to what arrived during the last one.
  void catch_up() {
    for (int pass = 0; pass < options_.max_catch_up_passes; ++pass) {
      pqxx::work tx(c_, "rebuild catch-up");
      const Position head = events::EventReader(tx).head();
      if (head - position_ <= options_.max_tail_in_lock) return;
      fold_into_shadow(tx, head, RebuildProgress::Stage::catch_up);
      tx.commit();
      ++report_.catch_up_passes;
    }
  }

  // Step 4, retried when a lock is not granted in time (nothing has changed then).
  void swap() {
    for (int attempt = 1;; ++attempt) {
      catch_up();
      bool folding = false;
      try {
        swap_once(folding);
        return;
      } catch (const pqxx::sql_error& e) {
        // Once the tail is folded the in-memory models are ahead of the (rolled back) shadow:
        // only a failure before that may be retried.
        if (folding || !is_lock_timeout(e) || attempt >= options_.swap_attempts) throw;
      }
    }
  }

  void swap_once(bool& folding) {
    pqxx::work tx(c_, "rebuild swap");
    const auto start = Clock::now();
    notify(RebuildProgress::Stage::swap, {position_, position_, report_.events_folded});
    tx.exec0(fmt::format("SET LOCAL lock_timeout = {}", options_.lock_timeout.count()));
    tx.exec(events::append_lock_sql());
    const bool live_exists = schema_exists(tx, kReadSchema);
    if (live_exists) {
      // ACCESS EXCLUSIVE on every table and view of the schema, so that the DROP after the rename
      // cannot wait on a reader while appends are blocked: if a long reader holds one (a verify),
      // this times out (lock_timeout) before anything changed, and the swap is tried again.
      lock_relations(tx, relations_of(tx, kReadSchema), "ACCESS EXCLUSIVE");
      if (const auto dependents = outside_dependents(tx, kReadSchema); !dependents.empty())
        throw std::runtime_error(fmt::format(
            "cannot swap in the rebuilt read models: dropping the old {} schema would also drop {}", kReadSchema,
            fmt::join(dependents, ", ")));
    }

    folding = true;
    const Position head = events::EventReader(tx).head();
    report_.events_in_lock = fold_into_shadow(tx, head, RebuildProgress::Stage::swap);

    const std::string live = tx.quote_name(std::string(kReadSchema));
    const std::string old = tx.quote_name(options_.shadow_schema + "_old");
    tx.exec0("DROP SCHEMA IF EXISTS " + old + " CASCADE");
    if (live_exists) tx.exec0("ALTER SCHEMA " + live + " RENAME TO " + old);
    tx.exec0("ALTER SCHEMA " + tx.quote_name(options_.shadow_schema) + " RENAME TO " + live);
    if (live_exists) tx.exec0("DROP SCHEMA " + old + " CASCADE");
    tx.commit();
    report_.swapped_at = position_;
    report_.swap_seconds = seconds_since(start);
  }

  const std::string& conninfo_;
  pqxx::connection_base& c_;
  const RebuildOptions& options_;
  ProjectModels models_;
  Position position_ = 0;
  RebuildReport report_;
};

}  // namespace

RebuildReport rebuild_read_models(const std::string& conninfo, const RebuildOptions& options) {
  pqxx::connection connection(conninfo);
  RebuildLock lock(connection);
  return Rebuild(conninfo, connection, options).run();
}

std::string relations_of(pqxx::transaction_base& tx, std::string_view schema) {
  const auto names = tx.exec_params(
      "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY c.relname",
      std::string(schema));
  std::string list;
  for (const auto& row : names) {
    if (!list.empty()) list += ", ";
    list += row[0].c_str();
  }
  return list;
}

void lock_relations(pqxx::transaction_base& tx, const std::string& relations, std::string_view mode) {
  if (!relations.empty()) tx.exec0("LOCK TABLE " + relations + " IN " + std::string(mode) + " MODE");
}

}  // namespace tasklog::projections
