// verify: what an auditor runs to trust the database — the log's hash chain is intact and the log
// keeps the rules import holds an export to (events::ChainLinks; decode()'s columns check), and the
// read models equal the fold of the log. Both are read in one snapshot, so a server appending at
// the same time cannot make them disagree.
#pragma once

#include "events/chain.hpp"
#include "events/log_digest.hpp"
#include "projections/fold.hpp"
#include "projections/model_diff.hpp"
#include "projections/read_model_store.hpp"

#include <pqxx/pqxx>

#include <functional>
#include <optional>
#include <string>

namespace tasklog::projections {

struct VerifyOptions {
  std::string schema{kReadSchema};  // the read models to compare
  std::size_t batch = 5000;
  // A digest taken earlier (`tasklog digest`): the log up to its position must still end in its
  // hash, i.e. it was not rewritten since — not even with the whole chain recomputed.
  std::optional<events::LogDigest> digest{};
  // Called with what is being checked ("chain", "fold") and how far it got.
  std::function<void(std::string_view stage, const FoldProgress&)> progress{};
};

struct VerifyReport {
  Position position = 0;       // the snapshot's head: everything up to here was checked
  events::ChainReport chain{};
  std::optional<FoldError> unreadable{};     // an event the fold could not read (then no comparison)
  std::optional<Difference> difference{};    // the first read-model row that differs from the fold
  std::optional<events::LogDigest> digest{};       // the digest checked, when one was given
  std::optional<std::string> digest_finding{};     // how the log disagrees with it
  std::uint64_t events_folded = 0;
  std::size_t projects = 0;

  bool ok() const { return chain.ok && !unreadable && !difference && !digest_finding; }
  // One line per finding, for a person; "ok ..." when there is none.
  std::string describe() const;
};

VerifyReport verify_log_and_read_models(pqxx::connection_base& connection, const VerifyOptions& options = {});

}  // namespace tasklog::projections
