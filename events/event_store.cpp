#include "events/event_store.hpp"

#include "core/json.hpp"
#include "events/append_pipeline.hpp"
#include "events/canonical.hpp"
#include "events/database.hpp"
#include "events/event_json.hpp"
#include "events/event_rows.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <chrono>
#include <optional>
#include <unordered_map>
#include <utility>

namespace tasklog::events {
namespace {

// Statements the writer prepares once per connection (SQL-level PREPARE, so that they can ride in
// a multi-statement round trip with BEGIN/COMMIT). Planning the head/versions read as literal SQL
// cost ~0.9 ms per batch under row-level security — more than executing it.
std::string schema_row(std::string_view name) {
  return fmt::format("UNION ALL SELECT 's', oid::bigint, NULL, NULL FROM pg_namespace WHERE nspname = {}", name);
}

const std::string& prepare_statements_sql() {
  // The head alone (a batch of deciders), or the head and the versions of the named streams.
  static const std::string head =
      "SELECT 'h', position, encode(hash, 'hex'), (extract(epoch FROM recorded_at) * 1000000)::bigint "
      "FROM events ORDER BY position DESC LIMIT 1";
  static const std::string sql =
      "PREPARE tasklog_head AS " + head + "; "
      // With the read-model schema's identity ('s': a rebuild's swap renames a new schema into its
      // place), for the writer to note (EventStoreOptions::read_schema).
      "PREPARE tasklog_head_schema(text) AS (" + head + ") " + schema_row("$1") + "; "
      "PREPARE tasklog_head_versions(uuid[], text) AS (" + head + ") "
      "UNION ALL SELECT 'v', max(version), stream_id::text, NULL FROM events "
      "WHERE stream_id = ANY($1) GROUP BY stream_id " + schema_row("$2") + "; "
      "PREPARE tasklog_stream_versions(uuid[]) AS "
      "SELECT stream_id, max(version) FROM events WHERE stream_id = ANY($1) GROUP BY stream_id; "
      "PREPARE tasklog_insert_events(jsonb) AS " +
      insert_events_statement() + "; " +
      // Every batch's lock and notification: as literal SQL each was planned per batch (3,552 plans
      // of each in 8 s of task creates, ~25 us per batch in pg_stat_statements).
      "PREPARE tasklog_lock AS " + append_lock_sql() + "; PREPARE tasklog_notify(text) AS " + notify_sql("$1") + "; " +
      // The check that the read-model schema is still the one the writer noted with the head: a
      // failed check is an error, so that it can ride in front of an insert and stop the whole
      // message (kSchemaSwapped).
      "PREPARE tasklog_schema_check(text, bigint, text) AS SELECT CASE WHEN "
      "(SELECT oid::bigint FROM pg_namespace WHERE nspname = $1) IS NOT DISTINCT FROM $2 THEN 0 ELSE $3::int END";
  return sql;
}

// What tasklog_schema_check raises (as a failed integer conversion of this text) when the
// read-model schema was swapped since the writer noted it.
constexpr std::string_view kSchemaSwapped = "tasklog: the read models were swapped";

struct UuidHash {
  std::size_t operator()(const Uuid& id) const noexcept {
    std::size_t h;
    std::memcpy(&h, id.data, sizeof h);  // uuids are random enough in every byte range we use
    return h ^ std::hash<std::uint64_t>{}(*reinterpret_cast<const std::uint64_t*>(id.data + 8));
  }
};

// One queued command.
struct Request {
  std::vector<StreamAppend> streams;  // fixed appends (already canonical), or
  Decider decider;                    // events computed under the lock
  AppendCallback done;
  std::vector<Uuid> reads{};          // rows the decider said it will read (AppendContext::reads_ahead)
};

// An eventfd the writer polls beside its pipeline's socket, so that a command queued while
// flights are in the air is sent at once instead of after the oldest lands.
class Poke {
 public:
  Poke() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~Poke() { ::close(fd_); }
  Poke(const Poke&) = delete;
  Poke& operator=(const Poke&) = delete;
  int get() const { return fd_; }
  void set() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof one);  // EAGAIN: it is set already
  }
  void clear() const {
    std::uint64_t value = 0;
    [[maybe_unused]] const auto read = ::read(fd_, &value, sizeof value);
  }

 private:
  int fd_;
};

Timestamp system_now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// A batch's recorded_at: the clock, but strictly after the last one recorded. Never backwards,
// so "the state at time T" is a prefix of the log; and never the same instant as an earlier
// batch's, so events of different batches are ordered by time as by position — whatever the
// clocks of the processes appending (one running ahead, one stepped back). The deciders rely on
// it: a gate check counts for a lease only when recorded after the claim (core/gates.cpp), and
// a check that shares the claim's stamp was decided in the claim's batch, before it.
Timestamp next_stamp(Timestamp clock, Timestamp last_recorded) {
  return std::max(clock, last_recorded + std::chrono::microseconds(1));
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
      std::unique_lock lock(mutex);
      if (stopping) {
        // Answered on the caller's thread, outside the lock: the callback may call the store.
        lock.unlock();
        r.done({std::nullopt, std::make_exception_ptr(DomainError(ErrorCode::unavailable, "the event store is stopping"))});
        return;
      }
      queue.push_back(std::move(r));
      if (polling) poke.set();  // the writer waits on its flights' socket, not on `wake`
    }
    wake.notify_one();
  }

  // Joins the writer once, whoever calls first; from the writer thread itself (a callback) it
  // only asks it to stop, and the destructor's call joins it.
  void stop() {
    {
      std::lock_guard lock(mutex);
      if (!stopping) {
        stopping = true;
        if (polling) poke.set();
      }
    }
    wake.notify_one();
    if (std::this_thread::get_id() == writer.get_id()) return;
    std::lock_guard join_lock(join_mutex);
    if (writer.joinable()) writer.join();
  }

  // ---- writer thread ----
  // Takes what is queued as the next batch. A batch of fixed appends that the writer can stage
  // from memory goes out as a flight (AppendPipeline) while earlier flights are still being
  // inserted and committed; anything else (deciders read through the transaction, a first
  // append to a stream, a retry) waits until every flight has landed and runs on its own.
  void run() {
    for (;;) {
      std::vector<Request> batch;
      bool await = false;
      // No room for another flight: commands wait in the queue (the next batch grows) until the
      // oldest lands.
      const bool room = flights.size() < std::max<std::size_t>(depth(), 1);
      {
        std::unique_lock lock(mutex);
        if (flights.empty()) wake.wait(lock, [&] { return stopping || !queue.empty(); });
        const std::size_t n = room ? std::min(queue.size(), options.max_batch) : 0;
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        // Flights in the air and nothing to send: wait for them, or (with room) for a command,
        // which pokes the eventfd.
        await = batch.empty() && !flights.empty();
        polling = await && room;
      }
      if (await) {
        if (room) await_flights_or_commands();
        else if (!land_oldest()) drain();
        continue;
      }
      if (batch.empty()) return;  // stopping, and every command answered
      if (try_fly(batch)) continue;
      drain();
      process(batch);
    }
  }

  // Until a flight's outcome arrives (then lands what has) or a command is queued.
  void await_flights_or_commands() {
    // libpq may hold answers it read with an earlier flight's (they often arrive together): the
    // socket would never wake us for those, so they land first.
    if (!land_arrived()) {
      std::array<pollfd, 2> fds{pollfd{pipeline->socket(), POLLIN, 0}, pollfd{poke.get(), POLLIN, 0}};
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
        // Cannot wait on the sockets (should never happen): block on the oldest flight instead.
        if (!land_oldest()) drain();
      } else {
        if (fds[1].revents) poke.clear();
        land_arrived();
      }
    }
    std::lock_guard lock(mutex);
    polling = false;
  }

  // Lands every flight whose whole outcome has arrived, without waiting. Whether it landed any.
  bool land_arrived() {
    bool landed = false;
    while (!flights.empty()) {
      auto outcome = pipeline->poll();
      if (!outcome) break;
      landed = true;
      if (!land(*outcome)) {
        drain();
        break;
      }
    }
    return landed;
  }

  // What the writer knows about the log from its own last commit: the head and the versions of
  // the streams it read or wrote. True only while no other process appends, so every use is
  // checked: either the head read under the lock equals `head`, or the batch's INSERT (positions
  // and stream versions are unique) collides with whatever another process appended since.
  struct LogMemory {
    bool valid = false;
    Position head = 0;
    Sha256Digest hash{};
    Timestamp recorded{};
    std::unordered_map<Uuid, std::int64_t, UuidHash> versions;  // stream -> last committed version
    std::int64_t schema_oid = 0;  // options.read_schema's pg_namespace oid when the head was last read (0: none)
  };
  std::any lasting;  // AppendContext::lasting_scratch (writer thread); emptied by forget()
  bool speculated = false;  // the batch run last was decided from memory (run_batch; writer thread)
  std::chrono::steady_clock::time_point speculate_from{};  // no deciding from memory before (pause_speculation)
  static constexpr std::size_t kRememberedStreams = 1 << 16;  // beyond this, start over

  // A version check failed against remembered (possibly stale) versions: read them and decide again.
  struct StaleMemory {};
  // A batch decided from memory took the lock and found that another writer appended since the
  // writer's last commit: its transaction is open (rolled back by the caller); decide again, reading.
  struct HeadMoved {};

  // Per-batch working state; lives for one transaction attempt.
  struct Batch final : AppendContext {
    Impl& store;
    pqxx::nontransaction* work;  // inside an explicit BEGIN (see run_batch); null for a flight (staging only)
    bool probe_ids = false;                // look stored event ids up (only after a duplicate event_id)
    bool careful = false;                  // read every stream's version (after a (stream, version) collision)
    bool from_memory = false;              // versions and head come from LogMemory, not yet checked
    const LogMemory* confirmed = nullptr;  // LogMemory whose head the read under the lock confirmed
    // Decided from memory with the lock not taken yet (run_batch): the first read takes it and
    // checks the head, or the insert carries it (and collides on position if the head moved).
    bool lock_pending = false;
    Position last_position = 0;
    Sha256Digest last_hash{};
    Timestamp stamp{};
    std::unordered_map<Uuid, std::int64_t, UuidHash> versions;     // stream -> version incl. batch
    std::unordered_map<Uuid, RecordedEvent, UuidHash> known;       // event_id -> stored/staged event
    std::vector<RecordedEvent> pending;                            // staged, not yet inserted
    std::vector<RecordedEvent> written;                            // inserted in this transaction
    std::uint64_t inserts = 0;                                     // insert statements sent (flush)
    std::set<Uuid> touched_streams;                                // streams with events in this batch
    std::any decider_scratch;                                      // AppendContext::scratch
    const std::vector<Request>* requests = nullptr;                // the batch's commands, and
    std::size_t deciding = 0;                                      // ... the one deciding now

    Batch(Impl& s, pqxx::nontransaction* w, bool probe, bool careful_versions)
        : store(s), work(w), probe_ids(probe), careful(careful_versions) {}

    pqxx::nontransaction& transaction() {
      // A flight stages fixed appends from memory only: nothing reads, nothing is sent from here.
      if (!work) throw std::logic_error("event store: a flight's batch has no transaction");
      if (lock_pending) take_lock();
      return *work;
    }

    // The lock and the head for a batch decided from memory, before its first read: everything
    // decided so far assumed the head is the writer's last commit.
    void take_lock() {
      lock_pending = false;
      const auto head = work->exec(store.lock_leader() + "EXECUTE tasklog_head");
      const Position now = head.empty() ? 0 : head[0][1].as<Position>();
      if (!confirmed || now != confirmed->head) throw HeadMoved{};
    }

    pqxx::transaction_base& tx() override {
      flush();
      return transaction();
    }
    bool touched(const Uuid& id) const override { return touched_streams.contains(id); }
    std::size_t event_count() const override { return written.size() + pending.size(); }
    std::size_t written_count() const override { return written.size(); }
    const RecordedEvent& event(std::size_t index) const override {
      return index < written.size() ? written[index] : pending.at(index - written.size());
    }
    std::any& scratch() override { return decider_scratch; }
    std::vector<Uuid> reads_ahead() const override {
      std::vector<Uuid> ids;
      if (requests)
        for (std::size_t i = deciding + 1; i < requests->size(); ++i)
          ids.insert(ids.end(), (*requests)[i].reads.begin(), (*requests)[i].reads.end());
      return ids;
    }
    pqxx::transaction_base& tx_for(const std::vector<Uuid>& streams, const std::vector<std::string>& types) override {
      const bool staged_on_them = std::any_of(pending.begin(), pending.end(), [&](const RecordedEvent& e) {
        return std::find(streams.begin(), streams.end(), e.stream_id) != streams.end() ||
               std::find(types.begin(), types.end(), e.stream_type) != types.end();
      });
      if (staged_on_them) flush();
      return transaction();
    }
    std::int64_t stream_version(const Uuid& id) override {
      if (const auto known = known_version(id)) return versions[id] = *known;
      load_versions({id});
      return versions[id];
    }
    std::optional<std::int64_t> known_version(const Uuid& id) const override {
      if (auto it = versions.find(id); it != versions.end()) return it->second;
      if (confirmed)
        if (auto it = confirmed->versions.find(id); it != confirmed->versions.end()) return it->second;
      return std::nullopt;
    }
    void learned_version(const Uuid& id, std::int64_t version) override {
      // A careful run (after a (stream, version) collision) takes versions from the log only.
      if (careful || known_version(id)) return;
      versions[id] = version;
    }
    std::any& lasting_scratch() override { return store.lasting; }
    Timestamp now() const override { return stamp; }
    Position head() const override { return last_position; }

    void load_versions(const std::vector<Uuid>& ids) {
      std::vector<Uuid> missing;
      for (const auto& id : ids)
        if (!versions.contains(id)) missing.push_back(id);
      if (missing.empty()) return;
      for (const auto& id : missing) versions[id] = 0;
      for (const auto& row : transaction().exec(fmt::format("EXECUTE tasklog_stream_versions('{}')", uuid_array(missing))))
        versions[*parse_uuid(row[0].c_str())] = row[1].as<std::int64_t>();
    }

    void load_known(const std::vector<Uuid>& ids) {
      if (probe_ids) fetch_known(ids);  // else fresh ids: the unique index on event_id is the check
    }

    void fetch_known(const std::vector<Uuid>& ids) {
      std::vector<Uuid> missing;
      for (const auto& id : ids)
        if (!known.contains(id)) missing.push_back(id);
      if (missing.empty()) return;
      for (const auto& row : transaction().exec_params(events_by_id_sql(), uuid_array(missing))) {
        RecordedEvent e = canonicalized(event_from_row(row));
        known.emplace(e.event_id, std::move(e));
      }
    }

    // Validates one command's streams and stages its events. All or nothing: nothing is staged
    // unless every check passes.
    AppendResult stage(const std::vector<StreamAppend>& streams) {
      if (auto replay = stored_replay(streams)) return std::move(*replay);

      for (const auto& s : streams) {
        // A stream expected new that nobody here has seen (a created task or project): its version
        // is not read. Version 1 collides on the unique (stream_id, version) index if the stream
        // exists after all, and process() then runs the batch again carefully, reading it.
        const bool expects_new = s.expected.kind == ExpectedVersion::Kind::no_stream ||
                                 (s.expected.kind == ExpectedVersion::Kind::exact && s.expected.version == 0);
        // Not written into `versions` here: if a later check refuses the command, the guess must
        // not outlive it (a later command of the batch, or the writer's memory after the commit,
        // would take 0 for the stream's version). Staging below starts it at 0.
        if (expects_new && !careful && !versions.contains(s.stream_id) &&
            !(confirmed && confirmed->versions.contains(s.stream_id)))
          continue;
        const std::int64_t current = stream_version(s.stream_id);
        if (s.expected.kind == ExpectedVersion::Kind::any ||
            current == (s.expected.kind == ExpectedVersion::Kind::no_stream ? 0 : s.expected.version))
          continue;
        // Remembered versions can only be behind the truth; a refusal must come from the truth.
        if (from_memory) throw StaleMemory{};
        if (lock_pending) take_lock();  // decided from memory: the head must be ours (else HeadMoved)
        // A retried command conflicts with its own first append: answer it as the retry it is.
        if (!probe_ids) {
          std::vector<Uuid> ids;
          for (const auto& each : streams)
            for (const auto& e : each.events) ids.push_back(e.event_id);
          fetch_known(ids);
          if (auto replay = stored_replay(streams)) return std::move(*replay);
        }
        throw VersionConflict(s.stream_id, s.expected, current);
      }

      AppendResult result;
      for (const auto& s : streams) {
        if (!s.events.empty()) touched_streams.insert(s.stream_id);
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

    // The original result when the command's events are already stored (or staged earlier in this
    // batch); nothing when none is. A partial match or other content is an idempotency conflict.
    std::optional<AppendResult> stored_replay(const std::vector<StreamAppend>& streams) const {
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
      return std::nullopt;
    }

    // Inserts the staged events in one statement, projects them, and sends both in one round trip.
    // `leader` (BEGIN and the lock, when nothing was sent yet) and `trailer` (NOTIFY and COMMIT)
    // ride in the same round trip: a batch of plain appends is one round trip in all, and each
    // decider costs its own reads plus one such round trip.
    // The staged events as the JSON array the insert statement takes (serial path and flights).
    std::string pending_json() const {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      w.StartArray();
      for (const auto& e : pending) write_event_json(w, e);
      w.EndArray();
      return {buf.GetString(), buf.GetSize()};
    }

    void flush(const std::string& leader = {}, const std::string& trailer = {}) {
      if (pending.empty()) {
        if (!leader.empty() || !trailer.empty()) transaction().exec(leader + trailer);
        return;
      }
      auto& work = transaction();
      std::string sql = leader;
      sql += "EXECUTE tasklog_insert_events(";
      // esc() + our own quotes rather than quote(): GCC 12 at -O3 raises a false -Wrestrict
      // inside pqxx's inlined quote().
      sql.push_back('\'');
      sql.append(work.esc(pending_json()));
      sql += "');\n";
      if (store.options.projector) store.options.projector(work, pending, sql);
      sql += trailer;
      work.exec(sql);
      ++inserts;
      std::move(pending.begin(), pending.end(), std::back_inserter(written));
      pending.clear();
    }
  };

  static const std::string& events_by_id_sql() {
    static const std::string sql = std::string("SELECT ") + kEventColumns + " FROM events WHERE event_id = ANY($1::uuid[])";
    return sql;
  }

  void connect() {
    forget();
    conn = open_connection(options.conninfo, options.role);
    backend_pid = conn->backendpid();
    // Generic plans for every prepared statement of this connection. The writer's statements are
    // lookups by key, so one plan serves every call; but a statement with an array parameter
    // (`id = ANY($1)`: the deciders' read-ahead of task rows, the versions read) is planned again
    // on EVERY call by default, because its custom plan, which knows the array's length, always
    // looks cheaper than the generic one, which assumes ten elements. Measured during claim +
    // complete cycles: the read-ahead spent 180 us planning per call against 110 us executing.
    // So a statement run here must not leave its plan's shape to a parameter (a LIMIT, a range
    // bound): such a value goes into the statement's text (projections' load_ready_tasks).
    pqxx::nontransaction(*conn).exec("SET plan_cache_mode = force_generic_plan; " + prepare_statements_sql());
    read_schema_literal = "'" + conn->esc(options.read_schema) + "'";
  }

  // BEGIN and the lock for a batch decided from memory, with the check that options.read_schema
  // is still the one noted with the head (when one is watched).
  std::string lock_leader() const {
    std::string sql = "BEGIN; EXECUTE tasklog_lock; ";
    if (!options.read_schema.empty())
      sql += fmt::format("EXECUTE tasklog_schema_check({}, {}, '{}'); ", read_schema_literal, memory.schema_oid,
                         kSchemaSwapped);
    return sql;
  }
  static bool schema_swapped(const pqxx::sql_error& e) {
    return std::string_view(e.what()).find(kSchemaSwapped) != std::string_view::npos;
  }

  // Another writer appends too: deciding from memory would mostly be undone by its appends, so
  // the writer reads the head first for a while.
  void pause_speculation() {
    speculate_from = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::lock_guard lock(mutex);
    stats.memory_misses++;
  }

  void forget() {
    memory.valid = false;
    memory.versions.clear();
    lasting.reset();
  }

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

  // Runs a batch in one transaction and commits. Fills one outcome per request. commit_probe gets
  // the first new event id and committing is set right before the round trip that commits, so a
  // caller that loses the connection knows whether the outcome is in doubt and how to find it out.
  void run_batch(std::vector<Request>& batch, std::vector<AppendOutcome>& outcomes, std::vector<Uuid>& commit_probe,
                 bool& committing, bool probe_ids, bool careful) {
    // pqxx::work would spend a round trip on BEGIN and one per statement. The append path is the
    // hot path of the whole system and runs under a global lock, so it talks to the server as
    // little as it can, through a nontransaction with explicit BEGIN/COMMIT:
    // - fixed appends to streams this writer remembers: ONE round trip — BEGIN + lock + INSERT +
    //   NOTIFY + COMMIT — with positions, hashes and versions computed from its last commit. If
    //   another process appended since, the INSERT collides on position or (stream, version) and
    //   process() runs the batch again the careful way.
    // - otherwise: (1) BEGIN + lock + head + the versions the batch needs, then the deciders'
    //   reads, then (2) INSERT + NOTIFY + COMMIT.
    // Stored event ids are not probed up front: the unique index on event_id finds a retried
    // command, and process() then runs the batch again with probe_ids to answer it.
    pqxx::nontransaction work(*conn);
    Batch b(*this, &work, probe_ids, careful);

    std::vector<Uuid> stream_ids, event_ids;
    for (const auto& r : batch) {
      for (const auto& s : r.streams) {
        stream_ids.push_back(s.stream_id);
        if (probe_ids)
          for (const auto& e : s.events) event_ids.push_back(e.event_id);
      }
    }
    const bool from_memory = !probe_ids && stageable_from_memory(batch);
    // A batch of deciders while the writer remembers its last commit, the same way: decided from
    // memory — a decider that finds every row it needs kept (a task creation in a project read
    // earlier) reads nothing — with the lock taken by the first read, which checks the head, or
    // else by the insert, whose positions collide if another writer appended since. A batch that
    // inserts nothing checks the head before it answers: a refusal must come from the truth.
    speculated = !from_memory && !probe_ids && !careful && memory.valid && stream_ids.empty() &&
                 std::chrono::steady_clock::now() >= speculate_from;
    Timestamp last_recorded{};
    std::string leader;
    if (speculated) {
      b.confirmed = &memory;
      b.lock_pending = true;
      b.last_position = memory.head;
      b.last_hash = memory.hash;
      last_recorded = memory.recorded;
    } else if (from_memory) {
      b.from_memory = true;
      b.last_position = memory.head;
      b.last_hash = memory.hash;
      last_recorded = memory.recorded;
      for (const auto& id : stream_ids) b.versions[id] = memory.versions.at(id);
      leader = "BEGIN; EXECUTE tasklog_lock; ";
    } else {
      // Statement by statement (read committed), so the head is read after the lock is granted
      // and sees the previous holder's commit.
      // A batch of deciders names no streams up front: the head alone. (The versions' half with an
      // empty array is not free: a generic plan made while the log was small scans the table.)
      const auto prefetch =
          stream_ids.empty()
              ? work.exec(fmt::format("BEGIN; EXECUTE tasklog_lock; EXECUTE tasklog_head_schema({})", read_schema_literal))
              : work.exec(fmt::format("BEGIN; EXECUTE tasklog_lock; EXECUTE tasklog_head_versions('{}', {})",
                                      uuid_array(stream_ids), read_schema_literal));
      for (const auto& id : stream_ids) b.versions[id] = 0;
      std::int64_t schema_oid = 0;
      for (const auto& row : prefetch) {
        if (row[0].c_str()[0] == 's') {
          schema_oid = row[1].as<std::int64_t>();
        } else if (row[0].c_str()[0] == 'h') {
          b.last_position = row[1].as<Position>();
          b.last_hash = digest_from_hex(row[2].c_str()).value();
          last_recorded = Timestamp(std::chrono::microseconds(row[3].as<std::int64_t>()));
        } else {
          b.versions[*parse_uuid(row[2].c_str())] = row[1].as<std::int64_t>();
        }
      }
      // Nobody appended since our last commit: what we remember is exact (deciders skip reads).
      // Otherwise another writer did, and any remembered version may be behind: forgotten, all of
      // it — the batch's own reads are remembered after its commit, and a version kept from before
      // would be trusted again once the head is this writer's commit.
      if (memory.valid && memory.head == b.last_position && memory.schema_oid == schema_oid) b.confirmed = &memory;
      else forget();
      memory.schema_oid = schema_oid;
      b.load_known(event_ids);  // empty unless probe_ids: fetches the stored events to compare and return
    }
    b.stamp = next_stamp(options.clock(), last_recorded);
    const Position start = b.last_position;

    outcomes.assign(batch.size(), AppendOutcome{});
    b.requests = &batch;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      b.deciding = i;
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
    bool unread = false;
    if (b.lock_pending) {
      if (b.pending.empty()) b.take_lock();  // nothing to insert, so nothing would collide
      else leader = lock_leader();
      unread = !b.pending.empty();
      b.lock_pending = false;
    }
    if (b.last_position > start) commit_probe = {(b.written.empty() ? b.pending : b.written).front().event_id};
    committing = true;
    b.flush(leader, b.last_position > start
                        ? fmt::format("EXECUTE tasklog_notify('{}'); COMMIT", b.last_position)
                        : std::string("COMMIT"));
    remember(b, b.last_position > start ? b.stamp : last_recorded);
    count_batch(batch.size(), static_cast<std::uint64_t>(b.last_position - start), b.inserts, false);
    if (unread) {
      std::lock_guard lock(mutex);
      stats.unread_batches++;
    }
  }

  // A committed batch in the stats.
  void count_batch(std::size_t commands, std::uint64_t events, std::uint64_t inserts, bool flight) {
    std::lock_guard lock(mutex);
    stats.batches++;
    stats.inserts += inserts;
    if (flight) stats.flights++;
    stats.commands += commands;
    stats.events += events;
    stats.largest_batch = std::max<std::uint64_t>(stats.largest_batch, commands);
  }

  // ---- flights (writer thread) ----
  // How many flights may be in the air now. Flights commit one after the other, so a flight
  // behind another pays a WAL flush of its own; what it buys is the gap in which the log would
  // otherwise idle — the writer answering the last flight's callers, and they sending and the
  // writer staging their next commands. Worth it while a commit takes less than that gap (this
  // machine, quiet: ~0.15 ms against ~0.7 ms at 32 producers: 1.2-1.4x the appends/s); when
  // flushes are slow (a busy disk: milliseconds), one flight at a time carries twice the
  // commands per flush (a second flight then halved the appends/s). Both are measured as the
  // writer goes (moving averages), so it follows the machine.
  std::size_t depth() const {
    if (options.pipeline_depth <= 1 || !options.pipeline_adapts) return options.pipeline_depth;
    return commit_us < gap_us ? options.pipeline_depth : 1;
  }
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kLongestGap = std::chrono::milliseconds(10);  // beyond: no load, not a gap

  struct Flight {
    std::vector<Request> requests;
    std::vector<AppendOutcome> outcomes;
    std::uint64_t events = 0;
  };

  // Whether a batch can be staged from what the writer remembers: fixed appends to streams whose
  // versions it knows. (Deciders read through the transaction, so they need every earlier batch
  // committed first.)
  bool stageable_from_memory(const std::vector<Request>& batch) const {
    if (!memory.valid) return false;
    return std::all_of(batch.begin(), batch.end(), [&](const Request& r) {
      return !r.decider && std::all_of(r.streams.begin(), r.streams.end(), [&](const StreamAppend& s) {
               return memory.versions.contains(s.stream_id);
             });
    });
  }

  // Sends the batch as a flight behind those in flight, landing the oldest first when the pipeline
  // is full. False when it was not sent — it could not be staged from memory, or an earlier
  // flight failed — and `batch` is untouched: the caller drains and runs it the serial way.
  bool try_fly(std::vector<Request>& batch) {
    // A flight carries the events' INSERT and nothing else: with an inline projector, every batch
    // goes the serial way, whose flush sends the projector's writes with the insert.
    if (options.pipeline_depth == 0 || options.projector || !stageable_from_memory(batch)) return false;
    try {
      if (!pipeline) pipeline = std::make_unique<AppendPipeline>(options.conninfo, options.role);
    } catch (const std::exception& e) {
      spdlog::warn("event store: no append pipeline ({}); appending one batch at a time", e.what());
      return false;
    }
    // Staged exactly as run_batch stages from memory (expectations that memory cannot confirm go
    // the serial way, which reads the truth), while the flights before it are still in the air.
    Batch b(*this, nullptr, false, false);
    b.from_memory = true;
    b.last_position = memory.head;
    b.last_hash = memory.hash;
    for (const auto& r : batch)
      for (const auto& s : r.streams) b.versions[s.stream_id] = memory.versions.at(s.stream_id);
    b.stamp = next_stamp(options.clock(), memory.recorded);
    const Position start = b.last_position;
    Flight flight;
    flight.outcomes.assign(batch.size(), AppendOutcome{});
    try {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        try {
          flight.outcomes[i].result = b.stage(batch[i].streams);
        } catch (const DomainError&) {
          flight.outcomes[i].error = std::current_exception();
        }
      }
    } catch (const StaleMemory&) {
      return false;
    }
    if (b.pending.empty()) return false;  // nothing to insert (every command refused): answered serially
    FlightSql sql;
    sql.rows_json = b.pending_json();
    sql.rows = b.pending.size();
    sql.after_position = start;
    sql.after_hash = memory.hash;
    sql.last_position = b.last_position;
    sql.time_commit = timed_flights++ % 8 == 0;  // one in eight: a sample for depth()
    flight.events = b.pending.size();
    // Room in the pipeline first. If the oldest flight failed, so did every one behind it, and
    // this batch was staged on rows that are not in the log.
    while (flights.size() >= std::max<std::size_t>(depth(), 1)) {
      if (!land_oldest()) {
        drain();
        return false;
      }
    }
    try {
      pipeline->send(sql);
    } catch (const std::exception& e) {
      // Lost before or while sending: what is in flight is in doubt, and so is this flight if its
      // COMMIT got out. drain() runs them all again — a committed event is then answered by its id.
      spdlog::warn("event store: the append pipeline failed ({}); appending one batch at a time", e.what());
      drain();
      return false;
    }
    remember(b, b.stamp);  // tentatively: forgotten again if a flight fails
    if (flights.empty() && idle_since) {
      // The log idled from the last landing until now: the gap a flight in the air would hide.
      // A longer idle stretch is no load, not a gap a second flight could hide: not sampled
      // (capped and counted, every burst after a quiet spell pulled the average towards 10 ms,
      // and at full depth the pipeline rarely runs empty to sample it back down).
      const auto gap = Clock::now() - *idle_since;
      if (gap <= kLongestGap) gap_us += (std::chrono::duration<double, std::micro>(gap).count() - gap_us) / 8;
    }
    idle_since.reset();
    flight.requests = std::move(batch);
    flights.push_back(std::move(flight));
    {
      std::lock_guard lock(mutex);
      stats.flights_in_air = flights.size();
    }
    return true;
  }

  // Lands the oldest flight with its outcome: answers its callers when it committed. False when it
  // did not; then every flight behind it fails as well (see AppendPipeline) and the caller must
  // drain().
  bool land(const FlightResult& result) {
    Flight flight = std::move(flights.front());
    flights.pop_front();
    {
      std::lock_guard lock(mutex);
      stats.flights_in_air = flights.size();
    }
    if (flights.empty()) idle_since = Clock::now();
    if (result.status == FlightResult::Status::committed) {
      if (result.commit_time)
        commit_us += (std::chrono::duration<double, std::micro>(*result.commit_time).count() - commit_us) / 8;
      count_batch(flight.requests.size(), flight.events, /*inserts=*/1, true);  // a flight is one insert
      deliver(flight.requests, flight.outcomes);
      return true;
    }
    {
      std::lock_guard lock(mutex);
      stats.flights_failed++;
    }
    spdlog::debug("event store: a flight did not commit ({} {} {}); its commands run again", result.sqlstate,
                  result.constraint, result.message);
    std::move(flight.requests.begin(), flight.requests.end(), std::back_inserter(rerun));
    return false;
  }

  bool land_oldest() { return land(pipeline->receive()); }

  // Lands every flight. When one failed, the commands of it and of every flight behind it run
  // again, in their order, the serial way: it reads what the log really holds (another process
  // may have appended), probes event ids after a collision, and answers a command whose events
  // did commit before the connection was lost as the retry it is.
  void drain() {
    bool failed = !rerun.empty();
    while (!flights.empty())
      if (!land_oldest()) failed = true;
    if (!failed) return;
    forget();
    if (pipeline && !pipeline->recover()) pipeline.reset();
    std::vector<Request> again = std::move(rerun);
    rerun.clear();
    process(again);
  }

  // After a commit: the log's head and every stream version the batch read or wrote.
  void remember(const Batch& b, Timestamp recorded) {
    if (memory.versions.size() + b.versions.size() > kRememberedStreams) memory.versions.clear();
    memory.valid = true;
    memory.head = b.last_position;
    memory.hash = b.last_hash;
    memory.recorded = recorded;
    for (const auto& [id, version] : b.versions) memory.versions[id] = version;
  }

  // Did the transaction whose first new event is probe commit? Used after a lost connection
  // during COMMIT; event ids are unique, so the answer is exact — once the old session has ended.
  // The connection may have broken on our side only (a proxy, a network timeout) while its backend
  // still runs the message that ends in COMMIT: looked up before that commit lands, the batch would
  // run again and its deciders, with new event ids, would append a second time. So the old backend
  // is ended first (pg_terminate_backend waits for it: a transaction that has not committed is
  // rolled back), from a session of the login user, who may signal its own backends.
  // `old_backend` is set to 0 once that session is known to have ended, so that a second attempt
  // does not signal a new session that was given the same pid.
  bool committed(const std::vector<Uuid>& probe, int& old_backend) {
    if (old_backend != 0) {
      // A bounded connect: on a network that drops packets libpq would otherwise wait for TCP.
      pqxx::connection login(conninfo_with(options.conninfo, "connect_timeout", "5"));
      pqxx::nontransaction tx(login);
      const auto ended = tx.exec_params(
          "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE pid = $1 AND usename = session_user",
          old_backend);
      if (!ended.empty() && !ended[0][0].as<bool>())
        throw std::runtime_error(fmt::format("the old session (backend {}) did not end within 10 s", old_backend));
      old_backend = 0;
    }
    connect();
    pqxx::read_transaction tx(*conn);
    return !tx.exec_params(events_by_id_sql(), uuid_array(probe)).empty();
  }

  // committed(), asked until it answers: a database that is away for a moment (a restart, a network
  // blip) leaves the outcome unknown, and answering "unknown" would make the caller guess — a retry
  // of an engine command decides again with new event ids, so a commit that did land would be
  // applied twice. The writer asks again with backoff for up to kInDoubtPatience (nullopt when the
  // database stays away that long, or the store stops). Meanwhile the commands that arrive are not
  // held: they were never tried, and the database does not take connections, so they are refused
  // at once (unavailable), as they would be without a batch in doubt.
  static constexpr std::chrono::seconds kInDoubtPatience{30};
  std::optional<bool> resolve_in_doubt(const std::vector<Uuid>& probe, int old_backend) {  // a copy: committed() clears it
    const auto deadline = std::chrono::steady_clock::now() + kInDoubtPatience;
    auto pause = std::chrono::milliseconds(100);
    for (;;) {
      try {
        return committed(probe, old_backend);
      } catch (const std::exception& check) {
        spdlog::warn("event store: the outcome of the in-doubt commit is not known yet ({})", check.what());
      }
      std::deque<Request> refused;
      bool give_up = false;
      {
        std::unique_lock lock(mutex);
        give_up = std::chrono::steady_clock::now() + pause > deadline ||
                  wake.wait_for(lock, pause, [&] { return stopping; });
        refused.swap(queue);
      }
      for (auto& r : refused)
        r.done({std::nullopt, std::make_exception_ptr(DomainError(
                                  ErrorCode::unavailable, "the database is unavailable; try again shortly"))});
      if (give_up) {
        spdlog::error("event store: gave up resolving an in-doubt commit ({})",
                      stopping ? "the store is stopping" : fmt::format("{} s passed", kInDoubtPatience.count()));
        return std::nullopt;
      }
      pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(2));
    }
  }

  // The events a batch whose commit was in doubt (and turned out committed) appended.
  static std::uint64_t in_doubt_events(const std::vector<AppendOutcome>& outcomes) {
    std::uint64_t events = 0;
    for (const auto& o : outcomes)
      if (o.result && !o.result->replayed) events += o.result->events.size();
    return events;
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
    bool probe_ids = false, careful = false;
    for (int attempt = 1;; ++attempt) {
      std::vector<Uuid> probe;
      std::vector<AppendOutcome> outcomes;
      bool committing = false;
      try {
        if (!conn || !conn->is_open()) connect();
        run_batch(batch, outcomes, probe, committing, probe_ids, careful);
        deliver(batch, outcomes);
        return;
      } catch (const StaleMemory&) {
        // Nothing was sent yet (the check runs before the round trip): read, then decide again.
        forget();
        continue;
      } catch (const HeadMoved&) {
        abandon_transaction();
        forget();
        pause_speculation();
        continue;
      } catch (const pqxx::unique_violation& e) {
        abandon_transaction();
        forget();
        const std::string what = e.what();
        if (speculated && what.find("events_pkey") != std::string::npos) pause_speculation();
        if (what.find("events_event_id_key") != std::string::npos && !probe_ids) {
          probe_ids = true;  // a retried command: look its stored events up and answer with them
          continue;
        }
        const bool stream_collision = what.find("events_stream_id_version_key") != std::string::npos;
        if ((what.find("events_pkey") != std::string::npos || stream_collision) && attempt < options.max_attempts) {
          // Another process appended since our last commit, or a stream assumed new exists: read
          // the head (and, after a stream collision, every version) this time.
          careful = careful || stream_collision;
          continue;
        }
        split_or_fail(batch, what);
        return;
      } catch (const pqxx::broken_connection& e) {
        forget();
        conn.reset();
        const int old_backend = std::exchange(backend_pid, 0);
        if (committing && !probe.empty()) {
          // The connection broke while COMMIT was on its way: find out instead of guessing.
          spdlog::warn("event store: connection lost during commit ({}); checking the outcome", e.what());
          const auto outcome = resolve_in_doubt(probe, old_backend);
          if (!outcome) {
            fail_all(batch, std::make_exception_ptr(DomainError(
                                ErrorCode::unavailable,
                                "the database connection broke during commit and the outcome is still unknown: "
                                "the command may have been applied; read before retrying it")));
            return;
          }
          if (*outcome) {
            count_batch(batch.size(), in_doubt_events(outcomes), 1, false);
            deliver(batch, outcomes);
            return;
          }
        }
        spdlog::warn("event store: connection lost ({}), attempt {}", e.what(), attempt);
      } catch (const pqxx::sql_error& e) {
        abandon_transaction();
        forget();
        if (schema_swapped(e)) continue;  // a rebuild swapped the read models in: decide again, reading
        if (!is_retryable(e)) {
          split_or_fail(batch, e.what());
          return;
        }
        spdlog::warn("event store: retryable error {} ({}), attempt {}", e.sqlstate(), e.what(), attempt);
      } catch (const std::exception& e) {
        abandon_transaction();
        forget();
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
  std::unique_ptr<pqxx::connection> conn;  // writer thread only: the serial path
  int backend_pid = 0;                      // writer thread only: conn's backend (committed())
  std::string read_schema_literal;          // writer thread only: options.read_schema as an SQL literal, for conn
  std::unique_ptr<AppendPipeline> pipeline;  // writer thread only: flights
  std::deque<Flight> flights;              // writer thread only: sent, not landed, oldest first
  std::vector<Request> rerun;              // writer thread only: commands of failed flights
  std::uint64_t timed_flights = 0;         // writer thread only: flights sent (the commit time of some is measured)
  double commit_us = 0;                    // writer thread only: moving average of a flight's commit time
  double gap_us = 0;                       // writer thread only: ... of the idle gap between flights
  std::optional<Clock::time_point> idle_since;  // writer thread only: the last flight landed, none in the air
  LogMemory memory;                        // writer thread only (includes the flights in the air)
  mutable std::mutex mutex;
  std::mutex join_mutex;  // stop(): one caller joins the writer
  std::condition_variable wake;
  std::deque<Request> queue;
  bool stopping = false;
  bool polling = false;  // the writer waits in await_flights_or_commands(): poke it
  Poke poke;
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
  impl_->submit(Request{std::move(streams), {}, std::move(done), {}});
}

void EventStore::async_execute(Decider decider, AppendCallback done, std::vector<Uuid> reads) {
  impl_->submit(Request{{}, std::move(decider), std::move(done), std::move(reads)});
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

AppendResult EventStore::execute(Decider decider, std::vector<Uuid> reads) {
  auto p = std::make_shared<std::promise<AppendOutcome>>();
  auto f = p->get_future();
  async_execute(std::move(decider), [p](AppendOutcome o) { p->set_value(std::move(o)); }, std::move(reads));
  return wait_for(std::move(f));
}

EventStoreStats EventStore::stats() const {
  std::lock_guard lock(impl_->mutex);
  EventStoreStats stats = impl_->stats;
  stats.queued = impl_->queue.size();
  return stats;
}

}  // namespace tasklog::events
