#include "projections/row_handoff.hpp"

#include <boost/functional/hash.hpp>

namespace tasklog::projections {

RowHandoff& RowHandoff::instance() {
  static RowHandoff handoff;
  return handoff;
}

std::size_t RowHandoff::Hash::operator()(const Uuid& id) const noexcept { return boost::hash<Uuid>{}(id); }

void RowHandoff::put(const Uuid& first_event_id, HandedRow row) {
  std::lock_guard lock(mutex_);
  rows_.insert_or_assign(first_event_id, std::move(row));
}

std::optional<HandedRow> RowHandoff::take(const Uuid& first_event_id) {
  std::lock_guard lock(mutex_);
  const auto it = rows_.find(first_event_id);
  if (it == rows_.end()) return std::nullopt;
  HandedRow row = std::move(it->second);
  rows_.erase(it);
  return row;
}

void RowHandoff::drop(const Uuid& first_event_id) {
  std::lock_guard lock(mutex_);
  rows_.erase(first_event_id);
}

std::size_t RowHandoff::size() const {
  std::lock_guard lock(mutex_);
  return rows_.size();
}

}  // namespace tasklog::projections
