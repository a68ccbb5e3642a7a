// The tasklog binary ($TASKLOG_BINARY) with its embedded PostgreSQL in a temporary TASKLOG_HOME:
// serve comes up migrated, stops on SIGTERM/SIGINT taking PostgreSQL down, keeps data across
// restarts, and starts again after kill -9 of tasklog and PostgreSQL, or of tasklog alone.
// Also `tasklog db start|status|stop` and `tasklog migrate` on the embedded cluster.
#include "api/auth.hpp"
#include "events/child_process.hpp"
#include "events/embedded_postgres.hpp"
#include "events/migrator.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sql.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;

namespace tasklog::api {
namespace {

using namespace std::chrono_literals;
using events::EmbeddedPostgres;
using tasklog::testing::eventually;
using tasklog::testing::TempDir;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Pids whose parent is `parent` (a postmaster's backends and auxiliary processes).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    const auto stat = read_file(entry.path() / "stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.push_back(std::stoi(name));
  }
  return children;
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* binary = std::getenv("TASKLOG_BINARY");
    ASSERT_NE(binary, nullptr) << "TASKLOG_BINARY must name the tasklog executable (ctest sets it)";
    binary_ = binary;
  }

  void TearDown() override {
    if (serve_pid_ > 0) {
      kill(serve_pid_, SIGKILL);
      events::wait_for_exit(serve_pid_);
    }
    try {
      EmbeddedPostgres(options()).stop();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not stop the test cluster: " << e.what();
    }
    // What tasklog said, for a failing test.
    if (HasFailure()) std::cerr << "--- tasklog output:\n" << read_file(output_file()) << "--- end\n";
  }

  fs::path home() const { return dir_.path() / "home"; }
  fs::path output_file() const { return dir_.path() / "tasklog.out"; }
  events::EmbeddedPostgresOptions options() const {
    events::EmbeddedPostgresOptions o;
    o.home = home();
    return o;
  }

  // Runs tasklog with TASKLOG_HOME=home(); its stdout and stderr are appended to output_file().
  pid_t spawn_tasklog(std::vector<std::string> args) {
    const int out = open(output_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    args.insert(args.begin(), binary_);
    const pid_t pid = events::spawn({.argv = std::move(args),
                                     .env = {"TASKLOG_HOME=" + home().string()},
                                     .run_as = std::nullopt,
                                     .output_fd = out,
                                     .detach = false});
    close(out);
    return pid;
  }

  int run_tasklog(std::vector<std::string> args) { return events::wait_for_exit(spawn_tasklog(std::move(args))); }

  void start_serve() {
    ready_lines_seen_ = ready_lines();
    // Port 0: tests run in parallel, each server takes a free port and prints it.
    serve_pid_ = spawn_tasklog({"serve", "--listen", "127.0.0.1:0"});
  }

  // serve logs this line once migrated and about to wait for signals; counting the lines tells
  // this run's readiness from an earlier run's (an adopted server is ready before tasklog is).
  std::size_t ready_lines() const {
    const auto output = read_file(output_file());
    std::size_t n = 0;
    for (auto at = output.find("tasklog ready"); at != std::string::npos; at = output.find("tasklog ready", at + 1)) ++n;
    return n;
  }

  // The URL of the last "dashboard: URL" line serve printed ("" when none).
  std::string last_dashboard_url() const {
    const auto output = read_file(output_file());
    const std::string prefix = "\ndashboard: ";
    const auto at = output.rfind(prefix);
    if (at == std::string::npos) return {};
    const auto start = at + prefix.size();
    return output.substr(start, output.find('\n', start) - start);
  }

  // Ready = the embedded server accepts connections and every migration is recorded.
  bool serve_ready() const {
    try {
      return query_one("SELECT count(*) FROM schema_migrations") ==
             std::to_string(events::embedded_migrations().size());
    } catch (const std::exception&) {
      return false;
    }
  }

  void wait_until_serving() {
    std::optional<int> exited;
    ASSERT_TRUE(eventually(
        [&] {
          exited = events::try_wait(serve_pid_);
          return exited.has_value() || ready_lines() > ready_lines_seen_;
        },
        120s))
        << "tasklog serve did not become ready";
    if (exited) serve_pid_ = 0;  // already reaped
    ASSERT_FALSE(exited.has_value()) << "tasklog serve exited with status " << *exited;
    EXPECT_TRUE(serve_ready());
  }

  // Sends `signal` and expects a clean exit with PostgreSQL stopped.
  void stop_serve(int signal) {
    const auto postmaster = EmbeddedPostgres(options()).running();
    ASSERT_TRUE(postmaster.has_value());
    kill(serve_pid_, signal);
    std::optional<int> status;
    ASSERT_TRUE(eventually([&] { return (status = events::try_wait(serve_pid_)).has_value(); }, 60s));
    serve_pid_ = 0;
    EXPECT_EQ(*status, 0);
    EXPECT_FALSE(events::process_alive(postmaster->pid));
    EXPECT_FALSE(EmbeddedPostgres(options()).running().has_value());
  }

  void kill_serve_with_sigkill() {
    kill(serve_pid_, SIGKILL);
    EXPECT_EQ(events::wait_for_exit(serve_pid_), 128 + SIGKILL);
    serve_pid_ = 0;
  }

  std::string query_one(const std::string& sql) const {
    return tasklog::testing::query_value(EmbeddedPostgres(options()).conninfo(), sql);
  }

  TempDir dir_;
  std::string binary_;
  pid_t serve_pid_ = 0;
  std::size_t ready_lines_seen_ = 0;
};

TEST_F(ServeTest, ServeStartsAMigratedEmbeddedPostgresAndStopsItOnSigterm) {
  start_serve();
  wait_until_serving();
  EXPECT_TRUE(events::Migrator(EmbeddedPostgres(options()).conninfo()).is_current(events::embedded_migrations()));
  stop_serve(SIGTERM);
  EXPECT_THAT(read_file(output_file()), ::testing::HasSubstr("received signal"));
}

TEST_F(ServeTest, FirstServeCreatesTheAdminTokenAndServesHttpOnThePrintedPort) {
  start_serve();
  wait_until_serving();
  const auto token_file = home() / "admin.token";
  ASSERT_TRUE(fs::exists(token_file));
  struct stat st {};
  ASSERT_EQ(stat(token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto token = read_file(token_file);
  ASSERT_FALSE(token.empty());
  token.pop_back();  // the newline
  const auto output = read_file(output_file());
  EXPECT_THAT(output, ::testing::HasSubstr(token));  // printed once, for the operator
  {
    pqxx::connection c{EmbeddedPostgres(options()).conninfo()};
    const auto admin = authenticate(c, token);
    ASSERT_TRUE(admin.has_value());
    EXPECT_TRUE(admin->admin);
  }

  // "tasklog listening on http://127.0.0.1:PORT" names the real port that --listen :0 got.
  const std::string prefix = "tasklog listening on http://127.0.0.1:";
  const auto at = output.find(prefix);
  ASSERT_NE(at, std::string::npos) << output;
  const int port = std::stoi(output.substr(at + prefix.size()));
  ASSERT_GT(port, 0);
  tasklog::testing::HttpClient client({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  EXPECT_EQ(client.get("/healthz").status, 200);
  EXPECT_EQ(client.get("/readyz").status, 200);
  // The dashboard's URL, signed in as the admin (the token in the fragment, never sent).
  EXPECT_THAT(output, ::testing::HasSubstr(fmt::format("\ndashboard: http://127.0.0.1:{}/#token={}\n", port, token)));
  stop_serve(SIGTERM);

  // The second start finds a user: no new admin, the file is left alone, and the dashboard URL
  // still carries the token of the file, which still authenticates the admin.
  start_serve();
  wait_until_serving();
  EXPECT_EQ(read_file(token_file), token + "\n");
  EXPECT_THAT(last_dashboard_url(), ::testing::MatchesRegex("http://127\\.0\\.0\\.1:[0-9]+/#token=" + token));
  stop_serve(SIGTERM);

  // A token file that does not authenticate an admin (another database's, or edited) is not
  // offered: the URL is the bare page.
  {
    std::ofstream(token_file, std::ios::trunc) << "tl_not_a_token\n";
  }
  start_serve();
  wait_until_serving();
  EXPECT_THAT(last_dashboard_url(), ::testing::MatchesRegex("http://127\\.0\\.0\\.1:[0-9]+/"));
  stop_serve(SIGTERM);
}

TEST_F(ServeTest, RestartKeepsTheData) {
  start_serve();
  wait_until_serving();
  query_one("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')");
  stop_serve(SIGTERM);

  start_serve();
  wait_until_serving();
  EXPECT_EQ(query_one("SELECT note FROM kept"), "still here");
  stop_serve(SIGINT);
}

TEST_F(ServeTest, StartsAfterKill9OfTasklogAndPostgres) {
  start_serve();
  wait_until_serving();
  query_one("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('committed before the crash')");
  const auto postmaster = EmbeddedPostgres(options()).running();
  ASSERT_TRUE(postmaster.has_value());
  const auto backends = children_of(postmaster->pid);
  ASSERT_FALSE(backends.empty());

  kill_serve_with_sigkill();
  kill(postmaster->pid, SIGKILL);
  for (pid_t backend : backends) kill(backend, SIGKILL);
  ASSERT_TRUE(events::wait_until_gone(postmaster->pid, 30s));
  for (pid_t backend : backends) ASSERT_TRUE(events::wait_until_gone(backend, 30s));
  ASSERT_TRUE(fs::exists(home() / "data" / "postmaster.pid"));  // stale, as after a power cut

  start_serve();
  wait_until_serving();
  EXPECT_EQ(query_one("SELECT note FROM kept"), "committed before the crash");
  stop_serve(SIGTERM);
}

TEST_F(ServeTest, AdoptsItsPostgresAfterKill9OfTasklogOnly) {
  start_serve();
  wait_until_serving();
  const auto postmaster = EmbeddedPostgres(options()).running();
  ASSERT_TRUE(postmaster.has_value());

  kill_serve_with_sigkill();
  EXPECT_TRUE(events::process_alive(postmaster->pid));

  start_serve();
  wait_until_serving();
  ASSERT_TRUE(EmbeddedPostgres(options()).running().has_value());
  EXPECT_EQ(EmbeddedPostgres(options()).running()->pid, postmaster->pid);  // the same server, adopted
  stop_serve(SIGTERM);  // and the adopter owns it now: it stops it
}

// A second serve on the same home refuses to start and leaves the first one's PostgreSQL alone:
// it used to adopt it (as after a crash of tasklog), fail to bind, and stop it on its way out —
// the first server then answered 503 to everything.
TEST_F(ServeTest, ASecondServeOnTheSameHomeLeavesTheFirstAlone) {
  start_serve();
  wait_until_serving();
  const auto postmaster = EmbeddedPostgres(options()).running();
  ASSERT_TRUE(postmaster.has_value());
  const pid_t second = spawn_tasklog({"serve", "--listen", "127.0.0.1:0"});
  std::optional<int> status;
  const bool exited = eventually([&] { return (status = events::try_wait(second)).has_value(); }, 60s);
  if (!exited) {
    kill(second, SIGKILL);
    events::wait_for_exit(second);
  }
  ASSERT_TRUE(exited) << "a second serve on the same home kept running";
  EXPECT_EQ(*status, 1);
  EXPECT_THAT(read_file(output_file()),
              ::testing::HasSubstr(fmt::format("another tasklog serve is running on {} (pid {})",
                                               fs::absolute(home()).string(), serve_pid_)));
  ASSERT_TRUE(EmbeddedPostgres(options()).running().has_value());
  EXPECT_EQ(EmbeddedPostgres(options()).running()->pid, postmaster->pid);
  EXPECT_TRUE(serve_ready());
  EXPECT_FALSE(events::try_wait(serve_pid_).has_value()) << "the first serve is still running";
  // Nor does `db stop` take its database away (the serve stops it when it stops).
  EXPECT_EQ(run_tasklog({"db", "stop"}), 1);
  EXPECT_THAT(read_file(output_file()), ::testing::HasSubstr("uses this cluster: stop the serve"));
  EXPECT_TRUE(serve_ready());
  stop_serve(SIGTERM);
  // Once it has stopped, the home is free again.
  start_serve();
  wait_until_serving();
  stop_serve(SIGTERM);
}

// A one-off command stops the cluster it started when it is done — but not from under a serve
// that started meanwhile and adopted it (found by a read-only review: the server answered 503
// until someone ran `tasklog db start`). The one-off here is an import waiting on its input.
TEST_F(ServeTest, AOneOffCommandLeavesTheClusterToAServeThatAdoptedIt) {
  const fs::path fifo = dir_.path() / "import-input";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // Read-write: opening does not wait for the reader, and the import sees no end of input until
  // this descriptor is closed.
  const int input = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(input, 0);
  const pid_t import = spawn_tasklog({"import", fifo.string()});
  ASSERT_TRUE(eventually([&] { return EmbeddedPostgres(options()).running().has_value(); }, 60s))
      << "the import did not start the cluster";
  const auto postmaster = EmbeddedPostgres(options()).running();
  start_serve();
  wait_until_serving();

  close(input);  // no events: the import is refused, and ends
  EXPECT_NE(events::wait_for_exit(import), 0);
  ASSERT_TRUE(EmbeddedPostgres(options()).running().has_value()) << "the import stopped the serve's cluster";
  EXPECT_EQ(EmbeddedPostgres(options()).running()->pid, postmaster->pid);
  EXPECT_TRUE(serve_ready());
  stop_serve(SIGTERM);
}

// Whether `pid` has a handler of its own for `signal` (SigCgt in /proc/PID/status).
bool catches(pid_t pid, int signal) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("SigCgt:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> (signal - 1)) & 1u;
  return false;
}

// A one-off command ended by a signal stops the cluster it started, as it does when it finishes
// (found by a read-only review: Ctrl-C on `events tail --follow`, the only way it ends, left
// PostgreSQL running; so did `export | head`).
TEST_F(ServeTest, AnInterruptedOneOffCommandStopsTheClusterItStarted) {
  for (const int signal : {SIGINT, SIGTERM}) {
    const pid_t tail = spawn_tasklog({"events", "tail", "-n", "0", "--follow"});
    ASSERT_TRUE(eventually([&] { return catches(tail, signal); }, 60s)) << "the command did not start its cluster";
    ASSERT_TRUE(EmbeddedPostgres(options()).running().has_value());
    kill(tail, signal);
    EXPECT_EQ(events::wait_for_exit(tail), 128 + signal);
    EXPECT_FALSE(EmbeddedPostgres(options()).running().has_value()) << strsignal(signal);
  }
}

// A port in use is named in the refusal, with what to do (Asio said "bind: Address already in use").
TEST_F(ServeTest, APortInUseIsNamed) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = taken.local_endpoint().port();
  const pid_t serve = spawn_tasklog({"serve", "--listen", fmt::format("127.0.0.1:{}", port)});
  EXPECT_EQ(events::wait_for_exit(serve), 1);
  EXPECT_THAT(read_file(output_file()),
              ::testing::HasSubstr(fmt::format("cannot listen on 127.0.0.1:{}: Address already in use", port)));
  EXPECT_FALSE(EmbeddedPostgres(options()).running().has_value());  // it stopped what it started
}

TEST_F(ServeTest, DbStartStatusStopManageTheClusterByHand) {
  EXPECT_EQ(run_tasklog({"db", "status"}), 3);
  EXPECT_EQ(run_tasklog({"db", "start", "-c", "max_connections=50"}), 0);
  EXPECT_EQ(query_one("SHOW max_connections"), "50");
  EXPECT_EQ(run_tasklog({"db", "status"}), 0);
  const auto output = read_file(output_file());
  EXPECT_THAT(output, ::testing::HasSubstr("running: pid " + std::to_string(EmbeddedPostgres(options()).running()->pid)));
  EXPECT_THAT(output, ::testing::HasSubstr("conninfo: " + EmbeddedPostgres(options()).conninfo()));
  EXPECT_EQ(run_tasklog({"db", "stop"}), 0);
  EXPECT_EQ(run_tasklog({"db", "status"}), 3);
  EXPECT_EQ(run_tasklog({"db", "stop"}), 0);  // stopping a stopped cluster is fine
}

TEST_F(ServeTest, MigrateWithoutAUrlMigratesTheEmbeddedClusterAndLeavesItAsItWas) {
  EXPECT_EQ(run_tasklog({"migrate"}), 0);
  EXPECT_FALSE(EmbeddedPostgres(options()).running().has_value());  // it started it, so it stopped it

  EXPECT_EQ(run_tasklog({"db", "start"}), 0);
  EXPECT_EQ(run_tasklog({"migrate"}), 0);
  EXPECT_TRUE(EmbeddedPostgres(options()).running().has_value());  // it found it running: still running
  EXPECT_TRUE(serve_ready());
}

TEST_F(ServeTest, EveryCommandHasHelp) {
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"db", "--help"}, {"db", "start", "--help"},
           {"db", "stop", "--help"}, {"db", "status", "--help"}}) {
    EXPECT_EQ(run_tasklog(command), 0) << command.front();
  }
  EXPECT_THAT(read_file(output_file()), ::testing::HasSubstr("--database-url"));
  EXPECT_NE(run_tasklog({"serve", "--listen", "nonsense"}), 0);
  EXPECT_FALSE(fs::exists(home()));  // refused before touching anything
}

}  // namespace
}  // namespace tasklog::api
