// Metrics in the Prometheus text exposition format 0.0.4. Request counters and latency histograms
// are kept here (one mutex: an observation is a few increments); everything else is read from its
// owner at scrape time, so there is one source of truth per figure.
#include "api/metrics.hpp"

#include "api/services.hpp"

#include <fmt/format.h>

#include <array>
#include <map>
#include <mutex>
#include <vector>

namespace tasklog::api {
namespace {

// Seconds. From a cached read (~1 ms) to a slow command under load (seconds).
constexpr std::array<double, 14> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1.0,   2.5,   5.0,  10.0};

// Label values are quoted; backslash, double quote and newline must be escaped (0.0.4 format).
std::string label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

struct RouteFigures {
  std::map<unsigned, std::uint64_t> by_status;
  std::array<std::uint64_t, kBuckets.size()> buckets{};  // non-cumulative; summed when rendered
  std::uint64_t count = 0;
  double sum = 0;
};

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <class Number>
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help, Number value) {
  header(out, name, type, help);
  fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
}

}  // namespace

struct Metrics::Impl {
  mutable std::mutex mutex;
  std::map<std::string, RouteFigures, std::less<>> routes;  // guarded by mutex
  std::vector<std::function<std::string()>> collectors;      // guarded by mutex
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::observe_request(std::string_view route, unsigned status, std::chrono::nanoseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->routes.find(route);
  if (it == impl_->routes.end()) it = impl_->routes.emplace(std::string(route), RouteFigures{}).first;
  auto& figures = it->second;
  ++figures.by_status[status];
  ++figures.count;
  figures.sum += seconds;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++figures.buckets[i];
      break;
    }
  }
}

void Metrics::add_collector(std::function<std::string()> collector) {
  std::lock_guard lock(impl_->mutex);
  impl_->collectors.push_back(std::move(collector));
}

std::string Metrics::render(const ApiServices& services) const {
  std::string out;
  auto put = std::back_inserter(out);
  std::vector<std::function<std::string()>> collectors;
  {
    std::lock_guard lock(impl_->mutex);
    collectors = impl_->collectors;
    header(out, "tasklog_http_requests_total", "counter", "HTTP requests answered, by route pattern and status.");
    for (const auto& [route, figures] : impl_->routes) {
      for (const auto& [status, n] : figures.by_status) {
        fmt::format_to(put, "tasklog_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", label_value(route),
                       status, n);
      }
    }
    header(out, "tasklog_http_request_duration_seconds", "histogram",
           "Time from a request's last byte read to its response being ready, by route pattern.");
    for (const auto& [route, figures] : impl_->routes) {
      const auto label = label_value(route);
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += figures.buckets[i];
        fmt::format_to(put, "tasklog_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", label,
                       kBuckets[i], cumulative);
      }
      fmt::format_to(put, "tasklog_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", label,
                     figures.count);
      fmt::format_to(put, "tasklog_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label, figures.sum);
      fmt::format_to(put, "tasklog_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label, figures.count);
    }
  }

  const auto store = services.store.stats();
  single(out, "tasklog_append_batches_total", "counter", "Append transactions committed (group commit batches).",
         store.batches);
  single(out, "tasklog_append_commands_total", "counter", "Commands answered by the append writer.", store.commands);
  single(out, "tasklog_events_appended_total", "counter", "Events appended to the log by this process.", store.events);
  const auto reads = services.task_reads.stats();
  single(out, "tasklog_task_reads_total", "counter", "Task reads (GET /v1/tasks/{id}) answered by shared calls.",
         reads.reads);
  single(out, "tasklog_task_read_calls_total", "counter",
         "Database calls those reads took (reads of one token waiting together share one).", reads.calls);
  const auto sign_ins = services.sign_ins.stats();
  single(out, "tasklog_sign_ins_total", "counter",
         "Bearer tokens looked up for authenticated requests (other than task reads) by shared calls.",
         sign_ins.sign_ins);
  single(out, "tasklog_sign_in_calls_total", "counter",
         "Database calls those sign-ins took (sign-ins of one token waiting together share one).",
         sign_ins.sign_in_calls);
  single(out, "tasklog_shared_calls_queued", "gauge", "Task reads and sign-ins waiting for a shared call.",
         reads.queued + sign_ins.queued);
  single(out, "tasklog_append_largest_batch", "gauge", "Most commands committed in one batch so far.",
         store.largest_batch);
  single(out, "tasklog_append_queued", "gauge", "Commands waiting for the append writer to take them into a batch.",
         store.queued);
  single(out, "tasklog_append_inserts_total", "counter",
         "Statements that wrote staged events: one per batch, plus one per read that had to see them before the commit.",
         store.inserts);
  single(out, "tasklog_append_unread_batches_total", "counter",
         "Batches decided from the writer's memory of its last commit: nothing read under the lock, one round trip.",
         store.unread_batches);
  single(out, "tasklog_append_memory_misses_total", "counter",
         "Batches decided from memory that ran again, reading, because another writer had appended.",
         store.memory_misses);

  if (services.reaper != nullptr) {
    const auto reaper = services.reaper->stats();
    single(out, "tasklog_reaper_passes_total", "counter", "Lease reaper passes.", reaper.passes);
    single(out, "tasklog_reaper_leases_expired_total", "counter", "Leases the reaper expired.", reaper.expired);
    single(out, "tasklog_reaper_refused_total", "counter",
           "Expiries refused because the holder heartbeated, completed or released first.", reaper.refused);
    single(out, "tasklog_reaper_errors_total", "counter", "Reaper passes or commands that failed.", reaper.errors);
  }

  const auto pool = services.pool.stats();
  single(out, "tasklog_db_pool_size", "gauge", "Database connections the pool may open.", pool.size);
  single(out, "tasklog_db_pool_open", "gauge", "Database connections open.", pool.open);
  single(out, "tasklog_db_pool_in_use", "gauge", "Database connections handed out to requests.", pool.in_use);
  single(out, "tasklog_db_pool_waiting", "gauge", "Requests waiting for a database connection.", pool.waiting);

  for (const auto& collector : collectors) {
    auto text = collector();
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    out += text;
  }
  return out;
}

}  // namespace tasklog::api
