// What every tasklog benchmark shares: a PostgreSQL to measure on (its own embedded cluster
// configured like the baselines' machine, or --database-url), the raw PostgreSQL baseline from
// ../shared/baselines measured on the same cluster in the same run, and the markdown table.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tasklog::bench {

// A database for a benchmark run: an embedded cluster under a temporary home (stopped and removed
// at the end) unless a URL is given.
class BenchDatabase {
 public:
  explicit BenchDatabase(std::optional<std::string> url);
  ~BenchDatabase();
  // conninfo of a freshly created, migrated database for one measurement.
  std::string fresh_database(const std::string& name);
  const std::string& admin_conninfo() const { return admin_; }

 private:
  struct Embedded;
  std::unique_ptr<Embedded> embedded_;
  std::string admin_;
};

struct RawAppend {
  double tps = 0;
  double rows_per_s = 0;
};

// Runs shared/baselines/raw_append.sh against conninfo; mode is "one" or "hundred".
RawAppend raw_append(const std::string& conninfo, int clients, int seconds, const std::string& mode);

struct RawRead {
  double tps = 0;
  std::int64_t rows = 0;  // rows the reads were spread over
};

// Runs pgbench with shared/baselines/point_select.sql against conninfo: one full-row read by
// primary key per transaction over baseline_events, the read limit of this PostgreSQL. Uses the
// rows raw_append() left there, topped up to min_rows rows of the same shape (the table is
// created when absent) and vacuumed first, so every read finds a visible, hinted row.
RawRead raw_point_select(const std::string& conninfo, int clients, int seconds, std::int64_t min_rows = 100'000);

// Where shared/baselines is: $TASKLOG_BASELINES, else <source>/../shared/baselines.
std::string baselines_dir();

// Runs `workers` threads calling op() until `seconds` pass; returns completed ops per second.
// op returns false to count a failure (not counted in the rate).
struct Throughput {
  double per_second = 0;
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
};
Throughput run_for(int workers, std::chrono::seconds duration, const std::function<bool(int worker)>& op);

std::string today();  // YYYY-MM-DD, for the README's table

// benchmarks/run collects the headline figures of every program into one table: when
// $TASKLOG_BENCH_FIGURES names a file, each figure is appended to it as one line
// "name<TAB>value<TAB>raw" (raw is the baseline measured beside it in the same run, 0 if none).
void report_figure(std::string_view name, double value, double raw = 0);

}  // namespace tasklog::bench
