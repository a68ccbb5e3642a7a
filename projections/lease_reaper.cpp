#include "projections/lease_reaper.hpp"

#include "core/error.hpp"
#include "events/database.hpp"
#include "projections/read_model_tables.hpp"

#include <spdlog/spdlog.h>

#include <future>

namespace tasklog::projections {

LeaseReaper::LeaseReaper(TaskEngine& engine, LeaseReaperOptions options)
    : engine_(engine), options_(std::move(options)) {}

LeaseReaper::~LeaseReaper() { stop(); }

void LeaseReaper::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void LeaseReaper::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

void LeaseReaper::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      reap_once();
    } catch (const std::exception& e) {
      ++errors_;
      spdlog::warn("lease reaper: pass failed: {}", e.what());
    }
    lock.lock();
    wake_.wait_for(lock, options_.interval, [&] { return stopping_; });
  }
}

std::size_t LeaseReaper::reap_once() {
  std::lock_guard pass(pass_mutex_);
  ++passes_;
  std::vector<std::pair<Uuid, Uuid>> due;  // (task, lease id)
  try {
    if (!connection_ || !connection_->is_open()) connection_ = events::open_connection(options_.conninfo, options_.role);
    pqxx::read_transaction tx(*connection_);
    const std::string tasks = tables::qualified(tx, options_.schema, "tasks");
    const std::string sql = "SELECT id, lease_token FROM " + tasks + " WHERE lease_expires_at < " +
                            (options_.clock ? "$2" : "now()") + " ORDER BY lease_expires_at LIMIT $1";
    const pqxx::result rows = options_.clock ? tx.exec_params(sql, options_.batch, columns::text_of(options_.clock()))
                                             : tx.exec_params(sql, options_.batch);
    for (const auto& row : rows)
      due.emplace_back(columns::uuid_from(row[0].c_str(), "id"), columns::uuid_from(row[1].c_str(), "lease_token"));  // the id
  } catch (const pqxx::broken_connection&) {
    connection_.reset();  // reconnect on the next pass
    throw;
  }

  // All at once, so the store commits them as one batch instead of one transaction each.
  std::vector<std::future<std::exception_ptr>> results;
  for (const auto& [task, lease] : due) {
    auto promise = std::make_shared<std::promise<std::exception_ptr>>();
    results.push_back(promise->get_future());
    engine_.async_execute(ExpireLease{task, lease}, options_.actor, std::nullopt,
                          [promise](std::optional<CommandOutcome>, std::exception_ptr error) { promise->set_value(error); });
  }
  std::size_t expired = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::exception_ptr error = results[i].get();
    if (!error) {
      ++expired;
      continue;
    }
    try {
      std::rethrow_exception(error);
    } catch (const DomainError& e) {
      if (e.code() == ErrorCode::lease_lost || e.code() == ErrorCode::illegal_transition ||
          e.code() == ErrorCode::version_conflict) {
        // Someone acted on the task between the scan and the command: the lease is not ours to end.
        ++refused_;
        spdlog::debug("lease reaper: task {} not expired: {}", to_string(due[i].first), e.what());
      } else {
        ++errors_;
        spdlog::warn("lease reaper: expiring task {} failed: {}", to_string(due[i].first), e.what());
      }
    } catch (const std::exception& e) {
      ++errors_;
      spdlog::warn("lease reaper: expiring task {} failed: {}", to_string(due[i].first), e.what());
    }
  }
  expired_ += expired;
  return expired;
}

LeaseReaperStats LeaseReaper::stats() const {
  return {passes_.load(), expired_.load(), refused_.load(), errors_.load()};
}

}  // namespace tasklog::projections
