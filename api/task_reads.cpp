#include "api/task_reads.hpp"

#include "api/auth.hpp"
#include "core/error.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tasklog::api {

namespace {

struct Pending {
  std::string hash{};  // token_hash() of the request's token: the requests of one call share it
  std::optional<Uuid> task{};  // a read without one: tasklog_read_tasks with no ids (the token's check only)
  TaskReads::Done done{};          // a read's
  TaskReads::SignedIn signed_in{};  // a sign-in's (then `done` is empty)
  // What a call is for: requests share a call when their keys are equal (one token, one kind).
  // Set once when queued: take() compares it for every queued request under the mutex.
  std::string key{};
};

// The answers must not throw (they answer requests); one that does must not take the others'
// answers with it.
void finish(Pending& request, std::exception_ptr error, std::optional<pqxx::row> row,
            std::optional<Principal> user = std::nullopt) {
  try {
    if (request.signed_in) {
      if (!error && !user) error = std::make_exception_ptr(DomainError(ErrorCode::unauthorized, kUnknownTokenMessage));
      request.signed_in(std::move(error), std::move(user));
    } else {
      request.done(std::move(error), std::move(row));
    }
  } catch (const std::exception& e) {
    spdlog::error("task reads: an answer threw: {}", e.what());
  }
}

std::exception_ptr unavailable() {
  return std::make_exception_ptr(DomainError(ErrorCode::unavailable, "the server is shutting down"));
}

}  // namespace

struct TaskReads::Impl {
  Impl(DbPool& pool, TaskReadsOptions options)
      : pool(pool), lanes(options.lane_count()), max_batch(std::max<std::size_t>(1, options.max_batch)), threads(lanes) {}

  DbPool& pool;
  const unsigned lanes;
  const std::size_t max_batch;
  boost::asio::thread_pool threads;

  mutable std::mutex mutex;
  std::deque<Pending> queue;      // reads no call has taken yet, in arrival order
  std::set<std::string> calling;  // the keys (token and kind) with a call in flight: one each at most
  unsigned running = 0;           // lanes started and not yet ended
  bool stopped = false;
  TaskReadsStats totals{};

  // Whether a request queued now needs a lane started for it (under the mutex): not when its key
  // has a call in flight (that lane takes it next) or every lane is running (one takes it when
  // its call ends).
  bool needs_lane(const std::string& key) const { return running < lanes && !calling.contains(key); }

  // Ends the call of `finished` (empty: none yet) and returns the next call's requests: the oldest
  // request whose key (token and kind) has no call in flight, with every other queued request of
  // that key in arrival order, up to max_batch. Empty when there is none; the lane then ends,
  // under the mutex queue_up() queues under, so a request is never left without a lane: its key's
  // lane or a free one takes it.
  std::vector<Pending> take(const std::string& finished) {
    std::vector<Pending> batch;
    std::lock_guard lock(mutex);
    if (!finished.empty()) calling.erase(finished);
    const auto first = stopped ? queue.end() : std::find_if(queue.begin(), queue.end(), [&](const Pending& read) {
      return !calling.contains(read.key);
    });
    if (first == queue.end()) {
      --running;
      return batch;
    }
    const std::string key = first->key;
    std::deque<Pending> rest;
    for (auto& read : queue) {
      if (batch.size() < max_batch && read.key == key)
        batch.push_back(std::move(read));
      else
        rest.push_back(std::move(read));
    }
    queue.swap(rest);
    calling.insert(key);
    return batch;
  }

  void lane() {
    for (auto batch = take({}); !batch.empty();) {
      if (batch.front().signed_in)
        sign_in(batch);
      else
        call(batch);
      const std::string key = batch.front().key;
      batch = take(key);
    }
  }

  // One look-up of the token (authenticate's statement) answers every sign-in of the batch.
  void sign_in(std::vector<Pending>& batch) {
    std::exception_ptr error;
    std::optional<Principal> user;
    try {
      auto connection = pool.acquire();
      user = authenticate_hash(*connection, batch.front().hash);
    } catch (...) {
      error = std::current_exception();
    }
    count(batch.size(), true);
    for (auto& request : batch) finish(request, error, std::nullopt, user);
  }

  void call(std::vector<Pending>& batch) {
    std::vector<Uuid> ids;
    ids.reserve(batch.size());
    for (const auto& read : batch)
      if (read.task) ids.push_back(*read.task);
    std::exception_ptr error;  // the call's: every read of it fails with it
    std::map<std::string, pqxx::row, std::less<>> by_id;
    try {
      auto connection = pool.acquire();
      for (const auto& row : read_tasks_signed_in(*connection, batch.front().hash, ids)) by_id.emplace(row[0].c_str(), row);
    } catch (...) {
      error = std::current_exception();
    }
    count(batch.size(), false);
    for (auto& read : batch) {
      const auto found = read.task ? by_id.find(to_string(*read.task)) : by_id.end();
      finish(read, error, found == by_id.end() ? std::nullopt : std::optional<pqxx::row>(found->second));
    }
  }

  // Queues a request and starts a lane for it when none will take it (see needs_lane). A token not
  // shaped like one of ours cannot sign in: it is refused here, with no need to ask the database.
  void queue_up(std::string_view bearer_token, Pending request) {
    if (!token_shaped(bearer_token))
      return finish(request, std::make_exception_ptr(DomainError(ErrorCode::unauthorized, kUnknownTokenMessage)),
                    std::nullopt);
    request.hash = token_hash(bearer_token);
    request.key = (request.signed_in ? "u:" : "t:") + request.hash;
    bool queued = false, start_lane = false;
    {
      std::lock_guard lock(mutex);
      if (!stopped) {
        queue.push_back(std::move(request));
        queued = true;
        if (needs_lane(queue.back().key)) {
          ++running;
          start_lane = true;
        }
      }
    }
    if (!queued) return finish(request, unavailable(), std::nullopt);  // stopped
    if (start_lane) boost::asio::post(threads, [this] { lane(); });
  }

  void count(std::size_t requests, bool sign_ins) {
    std::lock_guard lock(mutex);
    (sign_ins ? totals.sign_ins : totals.reads) += requests;
    ++(sign_ins ? totals.sign_in_calls : totals.calls);
  }
};

TaskReads::TaskReads(DbPool& pool, TaskReadsOptions options) : impl_(std::make_unique<Impl>(pool, options)) {}

TaskReads::~TaskReads() { stop(); }

void TaskReads::read(std::string_view bearer_token, std::optional<Uuid> task_id, Done done) {
  impl_->queue_up(bearer_token, Pending{.task = task_id, .done = std::move(done)});
}

void TaskReads::sign_in(std::string_view bearer_token, SignedIn done) {
  impl_->queue_up(bearer_token, Pending{.signed_in = std::move(done)});
}

void TaskReads::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  // Each lane ends after its call in flight; what no call took is answered here.
  impl_->threads.join();
  std::deque<Pending> left;
  {
    std::lock_guard lock(impl_->mutex);
    left.swap(impl_->queue);
  }
  for (auto& read : left) finish(read, unavailable(), std::nullopt);
}

TaskReadsStats TaskReads::stats() const {
  std::lock_guard lock(impl_->mutex);
  auto stats = impl_->totals;
  stats.queued = impl_->queue.size();
  return stats;
}

}  // namespace tasklog::api
