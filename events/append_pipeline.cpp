#include "events/append_pipeline.hpp"

#include "events/database.hpp"
#include "events/event_json.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <pqxx/except>

#include <poll.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace tasklog::events {
namespace {

constexpr const char* kLock = "tasklog_pipeline_lock";
constexpr const char* kInsertFirst = "tasklog_pipeline_insert_first";
constexpr const char* kInsertAfter = "tasklog_pipeline_insert_after";
constexpr const char* kNotify = "tasklog_pipeline_notify";

// The results of one flight, in the order sent: BEGIN, lock, INSERT, NOTIFY, COMMIT.
constexpr int kInsertIndex = 2;
constexpr int kCommitIndex = 4;
constexpr int kStatements = 5;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string field(const PGresult* r, int code) {
  const char* value = PQresultErrorField(r, code);
  return value ? value : "";
}

}  // namespace

AppendPipeline::AppendPipeline(const std::string& conninfo, const std::optional<std::string>& role) {
  conn_ = PQconnectdb(conninfo.c_str());
  // Closes what was opened and throws: broken_connection when the connection was lost (or never
  // made), which the writer treats like any lost connection.
  auto give_up = [&](const std::string& why) {
    const bool lost = !conn_ || PQstatus(conn_) != CONNECTION_OK;
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    if (lost) throw pqxx::broken_connection("append pipeline: " + why);
    throw std::runtime_error("append pipeline: " + why);
  };
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) give_up(conn_ ? PQerrorMessage(conn_) : "out of memory");
  // Before pipeline mode: one synchronous statement at a time.
  auto run = [&](const std::string& sql) {
    Result r(PQexec(conn_, sql.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK)
      give_up(PQerrorMessage(conn_));
  };
  if (role) {
    char* quoted = PQescapeIdentifier(conn_, role->data(), role->size());
    if (!quoted) give_up(PQerrorMessage(conn_));
    const std::string sql = std::string("SET ROLE ") + quoted;
    PQfreemem(quoted);
    run(sql);
  }
  // The guarded insert: all rows or none, decided once (an InitPlan) by the predecessor's row.
  const std::string insert = insert_events_statement();
  run(fmt::format("PREPARE {} AS {}", kLock, append_lock_sql()));
  run(fmt::format("PREPARE {}(jsonb) AS {}", kInsertFirst, insert));
  run(fmt::format("PREPARE {}(jsonb, bigint, bytea) AS {} WHERE EXISTS "
                  "(SELECT 1 FROM events WHERE position = $2 AND hash = $3)",
                  kInsertAfter, insert));
  run(fmt::format("PREPARE {}(text) AS {}", kNotify, notify_sql("$1")));
  // Blocking sends are safe here: a flight's answers are a few hundred bytes, so the server never
  // blocks writing to us while we write to it, with the few flights the writer keeps in flight.
  if (PQenterPipelineMode(conn_) != 1) give_up(std::string("cannot enter pipeline mode: ") + PQerrorMessage(conn_));
}

AppendPipeline::~AppendPipeline() {
  if (conn_) PQfinish(conn_);
}

bool AppendPipeline::usable() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

void AppendPipeline::check_sent(int ok, const char* what) {
  if (ok == 1) return;
  throw pqxx::broken_connection(fmt::format("append pipeline: sending {} failed: {}", what, PQerrorMessage(conn_)));
}

void AppendPipeline::send(const FlightSql& flight) {
  if (!usable()) throw pqxx::broken_connection("append pipeline: the connection is closed");
  check_sent(PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0), "BEGIN");
  check_sent(PQsendQueryPrepared(conn_, kLock, 0, nullptr, nullptr, nullptr, 0), "the lock");
  const std::string after = std::to_string(flight.after_position);
  const std::string hash = "\\x" + to_hex(flight.after_hash);
  if (flight.after_position == 0) {
    const std::array<const char*, 1> values{flight.rows_json.c_str()};
    check_sent(PQsendQueryPrepared(conn_, kInsertFirst, 1, values.data(), nullptr, nullptr, 0), "the insert");
  } else {
    const std::array<const char*, 3> values{flight.rows_json.c_str(), after.c_str(), hash.c_str()};
    check_sent(PQsendQueryPrepared(conn_, kInsertAfter, 3, values.data(), nullptr, nullptr, 0), "the insert");
  }
  // The server holds its answers until the sync; asking for the INSERT's now tells the writer when
  // the commit (and its WAL flush) began, which it weighs against the gap a second flight hides.
  // (A sample is enough: it costs the server a write and the writer a wake-up.)
  if (flight.time_commit) check_sent(PQsendFlushRequest(conn_), "a flush request");
  const std::string last = std::to_string(flight.last_position);
  const std::array<const char*, 1> notify{last.c_str()};
  check_sent(PQsendQueryPrepared(conn_, kNotify, 1, notify.data(), nullptr, nullptr, 0), "the notify");
  check_sent(PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0), "COMMIT");
  // The sync point also flushes what was queued.
  pending_.push_back(Pending{flight.rows, flight.time_commit});
  check_sent(PQpipelineSync(conn_), "the sync");
}

int AppendPipeline::socket() const { return conn_ ? PQsocket(conn_) : -1; }

FlightResult AppendPipeline::finish() {
  if (statement_ != kStatements && landing_.status == FlightResult::Status::committed) {
    landing_.status = FlightResult::Status::failed;
    landing_.message = fmt::format("{} results for {} statements", statement_, kStatements);
  }
  FlightResult out = std::move(landing_);
  landing_ = FlightResult{};
  statement_ = 0;
  nulls_ = 0;
  pending_.pop_front();
  return out;
}

std::optional<FlightResult> AppendPipeline::poll() {
  if (pending_.empty()) throw std::logic_error("append pipeline: nothing in flight");
  const std::size_t rows = pending_.front().rows;
  auto fail = [&](FlightResult::Status status, std::string message) {
    if (landing_.status == FlightResult::Status::committed) {
      landing_.status = status;
      landing_.message = std::move(message);
    } else if (status == FlightResult::Status::broken) {
      landing_.status = status;  // lost beats failed: whether it committed is what matters now
    }
  };
  auto lost = [&](const char* what) {
    fail(FlightResult::Status::broken, fmt::format("connection lost: {}", what));
    return finish();
  };
  if (!usable() || PQconsumeInput(conn_) != 1) return lost(conn_ ? PQerrorMessage(conn_) : "closed");
  // PQisBusy: whether PQgetResult would wait for more input.
  while (PQisBusy(conn_) == 0) {
    Result r(PQgetResult(conn_));
    if (!r) {
      if (!usable()) return lost(PQerrorMessage(conn_));
      if (++nulls_ > kStatements + 1) return lost("the answers are out of step with the flights");
      continue;
    }
    nulls_ = 0;
    const ExecStatusType status = PQresultStatus(r.get());
    if (status == PGRES_PIPELINE_SYNC) return finish();
    const int statement = statement_++;
    switch (status) {
      case PGRES_FATAL_ERROR:
        if (!usable()) return lost(PQresultErrorMessage(r.get()));
        if (landing_.sqlstate.empty()) {
          landing_.sqlstate = field(r.get(), PG_DIAG_SQLSTATE);
          landing_.constraint = field(r.get(), PG_DIAG_CONSTRAINT_NAME);
        }
        fail(FlightResult::Status::failed, PQresultErrorMessage(r.get()));
        break;
      case PGRES_PIPELINE_ABORTED:
        fail(FlightResult::Status::failed, "not run: an earlier statement failed");
        break;
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
        if (statement == kInsertIndex) {
          inserted_at_ = std::chrono::steady_clock::now();
          std::size_t inserted = 0;
          const char* tuples = PQcmdTuples(r.get());
          std::from_chars(tuples, tuples + std::strlen(tuples), inserted);
          if (inserted != rows)
            fail(FlightResult::Status::failed,
                 fmt::format("inserted {} of {} rows: the event it follows is not in the log", inserted, rows));
        } else if (statement == kCommitIndex) {
          if (pending_.front().timed) landing_.commit_time = std::chrono::steady_clock::now() - inserted_at_;
          if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0)
            fail(FlightResult::Status::failed, fmt::format("the transaction ended with {}", PQcmdStatus(r.get())));
        }
        break;
      default:
        fail(FlightResult::Status::failed, fmt::format("unexpected result {}", PQresStatus(status)));
        break;
    }
  }
  if (!usable()) return lost(PQerrorMessage(conn_));
  return std::nullopt;
}

FlightResult AppendPipeline::receive() {
  for (;;) {
    if (auto outcome = poll()) return std::move(*outcome);
    pollfd readable{socket(), POLLIN, 0};
    if (::poll(&readable, 1, -1) < 0 && errno != EINTR) {
      // Cannot wait on the socket: give the connection up (every flight in it is then in doubt).
      PQfinish(conn_);
      conn_ = nullptr;
    }
  }
}

bool AppendPipeline::recover() {
  if (!usable() || !pending_.empty()) return false;
  const PGTransactionStatusType state = PQtransactionStatus(conn_);
  if (state == PQTRANS_IDLE) return true;
  if (state != PQTRANS_INERROR && state != PQTRANS_INTRANS) return false;
  if (PQsendQueryParams(conn_, "ROLLBACK", 0, nullptr, nullptr, nullptr, nullptr, 0) != 1 || PQpipelineSync(conn_) != 1)
    return false;
  bool ok = false;
  for (int nulls = 0; nulls <= 2;) {
    Result r(PQgetResult(conn_));
    if (!r) {
      if (PQstatus(conn_) != CONNECTION_OK) return false;
      ++nulls;
      continue;
    }
    const ExecStatusType status = PQresultStatus(r.get());
    if (status == PGRES_COMMAND_OK) ok = true;
    if (status == PGRES_PIPELINE_SYNC) break;
  }
  return ok && usable() && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

}  // namespace tasklog::events
