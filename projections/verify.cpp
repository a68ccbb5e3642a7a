#include "projections/verify.hpp"

#include "projections/rebuild.hpp"

#include "core/terminal_text.hpp"
#include "events/event_reader.hpp"
#include "projections/read_model_store.hpp"
#include "projections/read_model_tables.hpp"

#include <fmt/format.h>

namespace tasklog::projections {

// Each finding's text through for_terminal: a reason may quote the log (an unreadable event's type,
// a JSON parser's complaint), and the log is whatever was stored.
std::string VerifyReport::describe() const {
  std::string out;
  using Kind = events::ChainFault::Kind;
  if (!chain.ok)
    out += fmt::format("{} at position {}: {}\n",
                       chain.kind == Kind::time || chain.kind == Kind::version ? "log out of order" : "hash chain broken",
                       chain.first_bad.value_or(0), for_terminal(chain.reason));
  if (digest_finding) out += fmt::format("digest of position {} does not hold: {}\n", digest->position,
                                       for_terminal(*digest_finding));
  if (unreadable) out += fmt::format("log unreadable: {}\n", for_terminal(unreadable->what()));
  if (difference) out += fmt::format("read models differ from the log: {}\n", difference->describe());
  if (out.empty()) {
    out = fmt::format("ok: {} events up to position {} chain-verified; read models of {} projects equal the fold\n",
                      events_folded, position, projects);
    if (digest) out += fmt::format("ok: the log up to position {} still ends in the digest's hash\n", digest->position);
  }
  return out;
}

VerifyReport verify_log_and_read_models(pqxx::connection_base& connection, const VerifyOptions& options) {
  VerifyReport report;
  // One snapshot for the chain, the fold and the read models: inline projections commit with
  // their events, so within it the read models must equal the fold exactly.
  // The read models' tables and views, named in a statement of their own: in the transaction below
  // the first query would take the snapshot, and the lock must come before it.
  std::string relations;
  {
    pqxx::nontransaction names(connection, "verify relations");
    relations = relations_of(names, options.schema);
  }
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "verify");
  // Shared before the snapshot (LOCK takes none; the first query does), so the read models read at
  // the end are the tables this snapshot sees. A rebuild's swap renames new tables into their place,
  // whose rows were written after our snapshot: read then, they looked missing — or, with the swap
  // holding some tables and waiting for `events` (a view reads it) while verify held `events` and
  // waited for those tables, the two deadlocked. Now both take the same locks in the same order: the
  // swap waits for verify (its lock_timeout then retries it), or verify for a swap under way.
  lock_relations(tx, relations, "ACCESS SHARE");
  report.position = events::EventReader(tx).head();

  auto progress = [&](std::string_view stage) {
    return [&options, stage, target = report.position](Position p) {
      if (options.progress) options.progress(stage, {p, target, std::uint64_t(p)});
    };
  };
  report.chain = events::verify_chain(tx, report.position, progress("chain"));
  if (options.digest) {
    report.digest = options.digest;
    report.digest_finding = events::digest_finding(tx, *options.digest);
  }

  ProjectModels expected;
  FoldOptions fold{.batch = options.batch};
  if (options.progress)
    fold.progress = [&options](const FoldProgress& p) { options.progress("fold", p); };
  try {
    report.events_folded = fold_log(tx, expected, 0, report.position, fold).events;
  } catch (const FoldError& e) {
    report.unreadable = e;
    return report;
  }
  report.projects = expected.size();
  // The list tables as stored too: load_all reads them only into their owners' lists, by owner.
  report.difference =
      first_difference(expected, load_all(tx, options.schema), tables::load_list_rows(tx, options.schema));
  tx.commit();
  return report;
}

}  // namespace tasklog::projections
