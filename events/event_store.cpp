#include "events/event_store.hpp"

#include "core/json.hpp"
#include "events/canonical.hpp"
#include "events/database.hpp"
#include "events/event_json.hpp"
#include "events/event_rows.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace tasklog::events {
namespace {

struct UuidHash {
  std::size_t operator()(const Uuid& id) const noexcept {
    std::size_t h;
    std::memcpy(&h, id.data, sizeof h);  // uuids are random enough in every byte range we use
    return h ^ std::hash<std::uint64_t>{}(*reinterpret_cast<const std::uint64_t*>(id.data + 8));
  }
};

std::string uuid_array(const std::vector<Uuid>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(',');
    out += to_string(ids[i]);
  }
  out.push_back('}');
  return out;
}

// One queued command.
struct Request {
  std::vector<StreamAppend> streams;  // fixed appends (already canonical), or
  Decider decider;                    // events computed under the lock
  AppendCallback done;
};

Timestamp system_now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace

void canonicalize_events(std::vector<StreamAppend>& streams) {
  std::vector<Uuid> ids;
  for (auto& s : streams) {
    for (auto& e : s.events) {
      if (std::find(ids.begin(), ids.end(), e.event_id) != ids.end())
        throw DomainError(ErrorCode::validation_failed,
                          fmt::format("event id {} appears twice in one command", to_string(e.event_id)));
      ids.push_back(e.event_id);
      rapidjson::Document doc;
      parse_json(e.payload, doc);
      if (!doc.IsObject()) throw DomainError(ErrorCode::validation_failed, "an event payload must be a JSON object");
      e.payload = canonical_json(doc);
      rapidjson::Document meta;
      parse_json(e.metadata, meta);
      if (!meta.IsObject()) throw DomainError(ErrorCode::validation_failed, "event metadata must be a JSON object");
      e.metadata = canonical_json(meta);
      if (e.type.empty()) throw DomainError(ErrorCode::validation_failed, "an event needs a type");
    }
  }
}

struct EventStore::Impl {
  explicit Impl(EventStoreOptions o) : options(std::move(o)) {
    if (!options.clock) options.clock = system_now;
    writer = std::thread([this] { run(); });
  }

  // ---- queue (any thread) ----
  void submit(Request r) {
    {
      std::lock_guard lock(mutex);
      if (stopping) {
        r.done({std::nullopt, std::make_exception_ptr(DomainError(ErrorCode::unavailable, "the event store is stopping"))});
        return;
      }
      queue.push_back(std::move(r));
    }
    wake.notify_one();
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
      stopping = true;
    }
    wake.notify_one();
    if (writer.joinable()) writer.join();
  }

  // ---- writer thread ----
  void run() {
    for (;;) {
      std::vector<Request> batch;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping and drained
        const std::size_t n = std::min(queue.size(), options.max_batch);
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      process(batch);
    }
  }

  // Per-batch working state; lives for one transaction attempt.
  struct Batch final : AppendContext {
    Impl& store;
    pqxx::nontransaction& work;  // inside an explicit BEGIN (see run_batch)
    Position last_position = 0;
    Sha256Digest last_hash{};
    Timestamp stamp{};
    std::unordered_map<Uuid, std::int64_t, UuidHash> versions;     // stream -> version incl. batch
    std::unordered_map<Uuid, RecordedEvent, UuidHash> known;       // event_id -> stored/staged event
    std::vector<RecordedEvent> pending;                            // staged, not yet inserted
    std::vector<RecordedEvent> written;                            // inserted in this transaction

    Batch(Impl& s, pqxx::nontransaction& w) : store(s), work(w) {}

    pqxx::transaction_base& tx() override {
      flush();
      return work;
    }
    std::int64_t stream_version(const Uuid& id) override {
      if (auto it = versions.find(id); it != versions.end()) return it->second;
      load_versions({id});
      return versions[id];
    }
    Timestamp now() const override { return stamp; }
    Position head() const override { return last_position; }

    void load_versions(const std::vector<Uuid>& ids) {
      std::vector<Uuid> missing;
      for (const auto& id : ids)
        if (!versions.contains(id)) missing.push_back(id);
      if (missing.empty()) return;
      for (const auto& id : missing) versions[id] = 0;
      for (const auto& row : work.exec_params(
               "SELECT stream_id, max(version) FROM events WHERE stream_id = ANY($1::uuid[]) GROUP BY stream_id",
               uuid_array(missing)))
        versions[*parse_uuid(row[0].c_str())] = row[1].as<std::int64_t>();
    }

    void load_known(const std::vector<Uuid>& ids) {
      std::vector<Uuid> missing;
      for (const auto& id : ids)
        if (!known.contains(id)) missing.push_back(id);
      if (missing.empty()) return;
      for (const auto& row : work.exec_params(events_by_id_sql(), uuid_array(missing))) {
        RecordedEvent e = canonicalized(event_from_row(row));
        known.emplace(e.event_id, std::move(e));
      }
    }

    // Validates one command's streams and stages its events. All or nothing: nothing is staged
    // unless every check passes.
    AppendResult stage(const std::vector<StreamAppend>& streams) {
      std::vector<const NewEvent*> fresh;
      std::vector<const RecordedEvent*> stored;
      for (const auto& s : streams)
        for (const auto& e : s.events) {
          auto it = known.find(e.event_id);
          if (it == known.end()) {
            fresh.push_back(&e);
            continue;
          }
          const RecordedEvent& r = it->second;
          if (r.stream_id != s.stream_id || r.type != e.type || r.payload != e.payload)
            throw DomainError(ErrorCode::idempotency_conflict,
                              fmt::format("event {} was already appended with different content", to_string(e.event_id)),
                              fmt::format(R"({{"event_id":"{}","position":{}}})", to_string(e.event_id), r.position));
          stored.push_back(&r);
        }
      if (!stored.empty()) {
        if (!fresh.empty())
          throw DomainError(ErrorCode::idempotency_conflict,
                            "some of this command's event ids are stored and some are not: a retry must repeat "
                            "exactly the original command");
        AppendResult replay{{}, true};
        for (const auto* r : stored) replay.events.push_back(*r);
        std::sort(replay.events.begin(), replay.events.end(),
                  [](const auto& a, const auto& b) { return a.position < b.position; });
        return replay;
      }

      for (const auto& s : streams) {
        const std::int64_t current = stream_version(s.stream_id);
        switch (s.expected.kind) {
          case ExpectedVersion::Kind::any: break;
          case ExpectedVersion::Kind::no_stream:
            if (current != 0) throw VersionConflict(s.stream_id, s.expected, current);
            break;
          case ExpectedVersion::Kind::exact:
            if (current != s.expected.version) throw VersionConflict(s.stream_id, s.expected, current);
            break;
        }
      }

      AppendResult result;
      for (const auto& s : streams) {
        std::int64_t& version = versions[s.stream_id];
        for (const auto& e : s.events) {
          RecordedEvent r;
          r.position = ++last_position;
          r.event_id = e.event_id;
          r.stream_id = s.stream_id;
          r.stream_type = s.stream_type;
          r.version = ++version;
          r.project_id = e.project_id;
          r.task_id = e.task_id;
          r.actor_id = e.actor_id;
          r.type = e.type;
          r.schema_version = e.schema_version;
          r.payload = e.payload;
          r.metadata = e.metadata;
          r.recorded_at = stamp;
          r.prev_hash = last_hash;
          r.hash = chain_hash(last_hash, r);
          last_hash = r.hash;
          known.emplace(r.event_id, r);
          pending.push_back(r);
          result.events.push_back(std::move(r));
        }
      }
      return result;
    }

    // Inserts the staged events in one statement and projects them in the same transaction.
    // `trailer` (e.g. "SELECT pg_notify(...); COMMIT") rides in the same round trip when there is
    // no projector to run in between.
    void flush(const std::string& trailer = {}) {
      if (pending.empty()) {
        if (!trailer.empty()) work.exec(trailer);
        return;
      }
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      w.StartArray();
      for (const auto& e : pending) write_event_json(w, e);
      w.EndArray();
      std::string sql = insert_events_sql(work, {buf.GetString(), buf.GetSize()});
      const bool project = static_cast<bool>(store.options.projector);
      if (!project && !trailer.empty()) sql.append("; ").append(trailer);
      work.exec(sql);
      if (project) store.options.projector(work, pending);
      std::move(pending.begin(), pending.end(), std::back_inserter(written));
      pending.clear();
      if (project && !trailer.empty()) work.exec(trailer);
    }
  };

  static const std::string& events_by_id_sql() {
    static const std::string sql = std::string("SELECT ") + kEventColumns + " FROM events WHERE event_id = ANY($1::uuid[])";
    return sql;
  }

  void connect() { conn = open_connection(options.conninfo, options.role); }

  // After a failure inside the explicit transaction: end it so the connection can be reused.
  void abandon_transaction() {
    if (!conn || !conn->is_open()) {
      conn.reset();
      return;
    }
    try {
      pqxx::nontransaction tx(*conn);
      tx.exec("ROLLBACK");
    } catch (const std::exception&) {
      conn.reset();
    }
  }

  // Runs a batch in one transaction and commits. Returns one outcome per request.
  // Fills one outcome per request. commit_probe gets the first new event id and committing is set
  // right before the round trip that commits, so a caller that loses the connection knows
  // whether the outcome is in doubt and how to find it out.
  void run_batch(std::vector<Request>& batch, std::vector<AppendOutcome>& outcomes, std::vector<Uuid>& commit_probe,
                 bool& committing) {
    // pqxx::work would spend a round trip on BEGIN and one per statement. The append path is the
    // hot path of the whole system and runs under a global lock, so it talks to the server twice
    // per batch: (1) BEGIN + lock + head + the versions and stored ids the batch needs, and
    // (2) INSERT + NOTIFY + COMMIT. A nontransaction with explicit BEGIN/COMMIT lets us do that.
    pqxx::nontransaction work(*conn);
    Batch b(*this, work);

    std::vector<Uuid> stream_ids, event_ids;
    for (const auto& r : batch)
      for (const auto& s : r.streams) {
        stream_ids.push_back(s.stream_id);
        for (const auto& e : s.events) event_ids.push_back(e.event_id);
      }
    // Statement by statement (read committed), so the head is read after the lock is granted and
    // sees the previous holder's commit.
    const auto prefetch = work.exec(fmt::format(
        "BEGIN; SELECT pg_advisory_xact_lock({}); "
        "SELECT 'h', position, encode(hash, 'hex'), (extract(epoch FROM recorded_at) * 1000000)::bigint "
        "FROM (SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1) h "
        "UNION ALL SELECT 'v', max(version), stream_id::text, NULL FROM events "
        "WHERE stream_id = ANY('{}'::uuid[]) GROUP BY stream_id "
        "UNION ALL SELECT 'e', position, event_id::text, NULL FROM events WHERE event_id = ANY('{}'::uuid[])",
        kAppendLockKey, uuid_array(stream_ids), uuid_array(event_ids)));
    Timestamp last_recorded{};
    for (const auto& id : stream_ids) b.versions[id] = 0;
    std::vector<Uuid> stored_ids;
    for (const auto& row : prefetch) {
      const char kind = row[0].c_str()[0];
      if (kind == 'h') {
        b.last_position = row[1].as<Position>();
        b.last_hash = digest_from_hex(row[2].c_str()).value();
        last_recorded = Timestamp(std::chrono::microseconds(row[3].as<std::int64_t>()));
      } else if (kind == 'v') {
        b.versions[*parse_uuid(row[2].c_str())] = row[1].as<std::int64_t>();
      } else {
        stored_ids.push_back(*parse_uuid(row[2].c_str()));
      }
    }
    b.load_known(stored_ids);  // only on retries: fetches the stored events to compare and return
    // recorded_at never goes backwards along the log, so "the state at time T" is a prefix of it.
    b.stamp = std::max(options.clock(), last_recorded);
    const Position start = b.last_position;

    outcomes.assign(batch.size(), AppendOutcome{});
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        if (batch[i].decider) {
          std::vector<StreamAppend> streams = batch[i].decider(b);
          canonicalize_events(streams);
          std::vector<Uuid> ids;
          for (const auto& s : streams)
            for (const auto& e : s.events) ids.push_back(e.event_id);
          b.load_known(ids);
          outcomes[i].result = b.stage(streams);
        } else {
          outcomes[i].result = b.stage(batch[i].streams);
        }
      } catch (const DomainError&) {
        outcomes[i].error = std::current_exception();
      }
    }
    if (b.last_position > start) commit_probe = {(b.written.empty() ? b.pending : b.written).front().event_id};
    committing = true;
    b.flush(b.last_position > start
                ? fmt::format("SELECT pg_notify('{}', '{}'); COMMIT", kNotifyChannel, b.last_position)
                : std::string("COMMIT"));
    {
      std::lock_guard lock(mutex);
      stats.batches++;
      stats.commands += batch.size();
      stats.events += static_cast<std::uint64_t>(b.last_position - start);
      stats.largest_batch = std::max<std::uint64_t>(stats.largest_batch, batch.size());
    }
  }

  // Did the transaction whose first new event is probe commit? Used after a lost connection
  // during COMMIT; event ids are unique, so the answer is exact.
  bool committed(const std::vector<Uuid>& probe) {
    connect();  // a new session: the old one's transaction, if it did not commit, is gone
    pqxx::read_transaction tx(*conn);
    return !tx.exec_params(events_by_id_sql(), uuid_array(probe)).empty();
  }

  void deliver(std::vector<Request>& batch, std::vector<AppendOutcome>& outcomes) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        batch[i].done(std::move(outcomes[i]));
      } catch (const std::exception& e) {
        spdlog::error("event store: an append callback threw: {}", e.what());
      }
    }
  }

  void fail_all(std::vector<Request>& batch, std::exception_ptr error) {
    std::vector<AppendOutcome> outcomes(batch.size(), AppendOutcome{std::nullopt, error});
    deliver(batch, outcomes);
  }

  void process(std::vector<Request>& batch) {
    for (int attempt = 1;; ++attempt) {
      std::vector<Uuid> probe;
      std::vector<AppendOutcome> outcomes;
      bool committing = false;
      try {
        if (!conn || !conn->is_open()) connect();
        run_batch(batch, outcomes, probe, committing);
        deliver(batch, outcomes);
        return;
      } catch (const pqxx::broken_connection& e) {
        conn.reset();
        if (committing && !probe.empty()) {
          // The connection broke while COMMIT was on its way: find out instead of guessing.
          spdlog::warn("event store: connection lost during commit ({}); checking the outcome", e.what());
          try {
            if (committed(probe)) {
              deliver(batch, outcomes);
              return;
            }
          } catch (const std::exception& check) {
            spdlog::error("event store: could not resolve an in-doubt commit: {}", check.what());
            fail_all(batch, std::make_exception_ptr(DomainError(
                                ErrorCode::unavailable,
                                "the database connection broke during commit and the outcome is unknown; "
                                "retrying with the same event ids is safe")));
            return;
          }
        }
        spdlog::warn("event store: connection lost ({}), attempt {}", e.what(), attempt);
      } catch (const pqxx::sql_error& e) {
        abandon_transaction();
        if (!is_retryable(e)) {
          split_or_fail(batch, e.what());
          return;
        }
        spdlog::warn("event store: retryable error {} ({}), attempt {}", e.sqlstate(), e.what(), attempt);
      } catch (const std::exception& e) {
        abandon_transaction();
        split_or_fail(batch, e.what());
        return;
      }
      if (attempt >= options.max_attempts) {
        fail_all(batch, std::make_exception_ptr(DomainError(ErrorCode::unavailable, "the database is unreachable")));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << std::min(attempt, 5)));
    }
  }

  // An unexpected failure fails the whole transaction; run each command alone so that only the
  // command that causes it gets the error.
  void split_or_fail(std::vector<Request>& batch, const std::string& what) {
    if (conn && !conn->is_open()) conn.reset();
    if (batch.size() == 1) {
      spdlog::error("event store: append failed: {}", what);
      fail_all(batch, std::make_exception_ptr(DomainError(ErrorCode::internal, "append failed: " + what)));
      return;
    }
    for (auto& r : batch) {
      std::vector<Request> single;
      single.push_back(std::move(r));
      process(single);
    }
  }

  EventStoreOptions options;
  std::unique_ptr<pqxx::connection> conn;  // writer thread only
  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<Request> queue;
  bool stopping = false;
  EventStoreStats stats;  // guarded by mutex
  std::thread writer;
};

EventStore::EventStore(EventStoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

EventStore::~EventStore() { impl_->stop(); }

void EventStore::stop() { impl_->stop(); }

void EventStore::async_append(std::vector<StreamAppend> streams, AppendCallback done) {
  try {
    canonicalize_events(streams);
  } catch (const DomainError&) {
    done({std::nullopt, std::current_exception()});
    return;
  }
  impl_->submit(Request{std::move(streams), {}, std::move(done)});
}

void EventStore::async_execute(Decider decider, AppendCallback done) {
  impl_->submit(Request{{}, std::move(decider), std::move(done)});
}

namespace {
AppendResult wait_for(std::future<AppendOutcome> f) {
  AppendOutcome o = f.get();
  if (o.error) std::rethrow_exception(o.error);
  return std::move(*o.result);
}
}  // namespace

AppendResult EventStore::append(std::vector<StreamAppend> streams) {
  auto p = std::make_shared<std::promise<AppendOutcome>>();
  auto f = p->get_future();
  async_append(std::move(streams), [p](AppendOutcome o) { p->set_value(std::move(o)); });
  return wait_for(std::move(f));
}

AppendResult EventStore::execute(Decider decider) {
  auto p = std::make_shared<std::promise<AppendOutcome>>();
  auto f = p->get_future();
  async_execute(std::move(decider), [p](AppendOutcome o) { p->set_value(std::move(o)); });
  return wait_for(std::move(f));
}

EventStoreStats EventStore::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace tasklog::events
