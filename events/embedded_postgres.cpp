// EmbeddedPostgres: initdb, start, adopt, stop, and the recovery from stale lock files that a
// kill -9 leaves behind. PostgreSQL's own programs are run directly (no pg_ctl, no shell), so no
// path is ever interpreted by a shell.
#include "events/embedded_postgres.hpp"

#include "core/sha256.hpp"
#include "events/database.hpp"
#include "events/file_lock.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace fs = std::filesystem;

namespace tasklog::events {
namespace {

// The socket lives in a private directory, so a fixed port is fine: it only names the socket file.
constexpr int kPort = 5432;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::string short_hash(const fs::path& path) { return to_hex(sha256(path.string())).substr(0, 16); }

// Under /tmp and named by a hash, the socket path stays far below the 107-byte limit of
// sockaddr_un whatever the data directory's length.
fs::path socket_dir_for(const fs::path& data_dir) { return fs::path("/tmp") / ("tasklog-" + short_hash(data_dir)); }

std::string make_conninfo(const fs::path& socket_dir, int port, std::string_view dbname) {
  return fmt::format("host={} port={} user={} dbname={}", conninfo_value(socket_dir.string()), port,
                     EmbeddedPostgres::superuser, conninfo_value(dbname));
}

// postgresql.conf string literal.
std::string conf_value(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += c;
    quoted += c;
  }
  return quoted + "'";
}

// A PostgreSQL parameter name: letters, digits, '_' and '.' (for extension settings).
bool is_setting_name(std::string_view name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
         });
}

std::pair<std::string, std::string> split_setting(const std::string& setting) {
  const auto eq = setting.find('=');
  if (eq == std::string::npos || !is_setting_name(std::string_view(setting).substr(0, eq))) {
    throw std::invalid_argument(fmt::format("server setting '{}' is not key=value", setting));
  }
  return {setting.substr(0, eq), setting.substr(eq + 1)};
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

pid_t parse_pid(const std::string& text) {
  long value = 0;
  const auto begin = text.data() + text.find_first_not_of(' ');
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
  // A standalone backend (postgres --single) writes its pid negated; never adopt that.
  return ec == std::errc{} && value > 0 ? static_cast<pid_t>(value) : 0;
}

fs::path process_link(pid_t pid, const char* which) {
  std::error_code ec;
  auto target = fs::read_symlink(fs::path("/proc") / std::to_string(pid) / which, ec);
  return ec ? fs::path() : target;
}

// A postmaster chdir()s into its data directory, and /proc shows that with symlinks resolved:
// comparing it with our (canonical) data directory tells our server from a process that merely
// inherited a recycled pid.
bool is_postgres_in(pid_t pid, const fs::path& data_dir) {
  return process_alive(pid) && process_link(pid, "cwd") == data_dir &&
         process_link(pid, "exe").filename().string().starts_with("postgres");
}

std::vector<pid_t> postgres_processes_in(const fs::path& data_dir) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const pid_t pid = parse_pid(entry.path().filename().string());
    if (pid > 0 && is_postgres_in(pid, data_dir)) found.push_back(pid);
  }
  return found;
}

bool has_server_binaries(const fs::path& dir) {
  return access((dir / "postgres").c_str(), X_OK) == 0 && access((dir / "initdb").c_str(), X_OK) == 0;
}

// Debian installs each major version under /usr/lib/postgresql/<major>/bin, and pg_config on PATH
// belongs to the client library, not necessarily to a server. An existing cluster needs the
// binaries of its own major version (PG_VERSION); a new one gets the highest installed.
fs::path find_bindir(const fs::path& data_dir) {
  if (const char* forced = std::getenv("TASKLOG_PG_BINDIR"); forced != nullptr && *forced != '\0') {
    if (!has_server_binaries(forced)) {
      throw std::runtime_error(fmt::format("TASKLOG_PG_BINDIR={} has no postgres and initdb", forced));
    }
    return forced;
  }
  std::string wanted;
  std::getline(std::ifstream(data_dir / "PG_VERSION"), wanted);
  int best_major = 0;
  fs::path best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto name = entry.path().filename().string();
    const int major = std::atoi(name.c_str());
    if (!has_server_binaries(entry.path() / "bin")) continue;
    if (name == wanted) return entry.path() / "bin";
    if (major > best_major) {
      best_major = major;
      best = entry.path() / "bin";
    }
  }
  if (!wanted.empty() && best_major != 0) {
    throw std::runtime_error(fmt::format("the cluster in {} was made by PostgreSQL {}, whose binaries are not installed",
                                         data_dir.string(), wanted));
  }
  if (best_major == 0 && has_server_binaries("/usr/bin")) return "/usr/bin";
  if (best_major == 0) {
    throw std::runtime_error(
        "no PostgreSQL server binaries found under /usr/lib/postgresql/*/bin: install postgresql-15 "
        "(scripts/setup does) or set TASKLOG_PG_BINDIR");
  }
  return best;
}

class LogFile {
 public:
  explicit LogFile(const fs::path& path) : fd_(open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  }
  ~LogFile() { close(fd_); }
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// <home>/data, or where the symlink of that name points (see place_data_dir()); canonical, because
// /proc shows a postmaster's working directory with symlinks resolved.
fs::path resolve_data_dir(const fs::path& home) {
  const fs::path link = home / "data";
  std::error_code not_a_link;
  const fs::path target = fs::read_symlink(link, not_a_link);
  return fs::weakly_canonical(not_a_link ? link : fs::absolute(link.parent_path() / target));
}

long long elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

EmbeddedPostgres::EmbeddedPostgres(EmbeddedPostgresOptions options)
    : options_(std::move(options)), port_(kPort) {
  for (const auto& setting : options_.settings) split_setting(setting);
  home_ = fs::weakly_canonical(fs::absolute(options_.home));
  log_file_ = options_.log_file.empty() ? home_ / "postgres.log" : fs::absolute(options_.log_file);
  data_dir_ = resolve_data_dir(home_);
  socket_dir_ = socket_dir_for(data_dir_);
}

std::string EmbeddedPostgres::conninfo(std::string_view dbname) const {
  return make_conninfo(socket_dir_, port_, dbname);
}

std::optional<PostmasterInfo> EmbeddedPostgres::running() const {
  // postmaster.pid: pid, data dir, start time, port, first socket dir, listen address, shmem key,
  // status. Only a live postgres process whose working directory is this data dir counts.
  const auto lines = read_lines(data_dir_ / "postmaster.pid");
  if (lines.size() < 5) return std::nullopt;
  const pid_t pid = parse_pid(lines[0]);
  if (pid == 0 || !is_postgres_in(pid, data_dir_)) return std::nullopt;
  return PostmasterInfo{pid, lines[4], std::atoi(lines[3].c_str())};
}

EmbeddedPostgres::StartOutcome EmbeddedPostgres::start() {
  const auto started_at = std::chrono::steady_clock::now();
  fs::create_directories(home_);
  FileLock lock(home_ / "launcher.lock");

  if (geteuid() == 0) {
    server_user_ = find_os_user(options_.os_user);
    if (!server_user_) {
      throw std::runtime_error(fmt::format(
          "running as root, PostgreSQL must run as an unprivileged user, but there is no OS user '{}' "
          "(the postgresql package creates it)",
          options_.os_user));
    }
  }
  place_data_dir();

  if (auto live = running()) {
    // tasklog died but its PostgreSQL did not: use that server rather than fight over its data.
    if (wait_until_ready(live->pid, live->socket_dir, live->port)) {
      socket_dir_ = live->socket_dir;
      port_ = live->port;
      ensure_database();
      spdlog::info("adopted the running PostgreSQL (pid {}) of {}", live->pid, data_dir_.string());
      return StartOutcome::adopted;
    }
  }

  clear_stale_state();
  const fs::path bindir = find_bindir(data_dir_);
  if (!fs::exists(data_dir_ / "PG_VERSION")) init_cluster(bindir);
  write_settings();
  prepare_socket_dir();

  LogFile log(log_file_);
  const pid_t pid = spawn(SpawnOptions{.argv = {(bindir / "postgres").string(), "-D", data_dir_.string()},
                                       .env = {},
                                       .run_as = server_user_,
                                       .output_fd = log.fd(),
                                       .detach = true});
  if (!wait_until_ready(pid, socket_dir_, port_)) {
    throw std::runtime_error(fmt::format("PostgreSQL exited while starting; the end of {}:\n{}", log_file_.string(),
                                         log_tail()));
  }
  ensure_database();
  spdlog::info("PostgreSQL (pid {}) ready in {} ms: data {}, socket {}", pid, elapsed_ms(started_at),
               data_dir_.string(), socket_dir_.string());
  return StartOutcome::started;
}

void EmbeddedPostgres::stop() {
  if (!fs::exists(home_)) return;
  FileLock lock(home_ / "launcher.lock");
  const auto live = running();
  if (!live) {
    spdlog::info("PostgreSQL of {} is not running", data_dir_.string());
    return;
  }
  const auto started_at = std::chrono::steady_clock::now();
  kill(live->pid, SIGINT);
  if (!wait_until_gone(live->pid, std::chrono::minutes(1))) {
    spdlog::warn("PostgreSQL (pid {}) did not finish a fast shutdown in a minute; shutting it down immediately",
                 live->pid);
    kill(live->pid, SIGQUIT);
    if (!wait_until_gone(live->pid, std::chrono::seconds(30))) {
      throw std::runtime_error(fmt::format("PostgreSQL (pid {}) does not stop", live->pid));
    }
  }
  // PostgreSQL removes its socket and lock file on shutdown; the directory is ours to remove, or
  // every short-lived cluster (each test's) would leave one behind in /tmp. rmdir refuses a
  // directory that is not empty, which is the only case where it could matter.
  rmdir(live->socket_dir.c_str());
  spdlog::info("PostgreSQL (pid {}) stopped in {} ms", live->pid, elapsed_ms(started_at));
}

void EmbeddedPostgres::place_data_dir() {
  home_ = fs::canonical(home_);
  const fs::path link = home_ / "data";
  if (!fs::is_symlink(link) && server_user_ && !fs::exists(link) &&
      !user_can_access(*server_user_, home_, X_OK)) {
    // PostgreSQL's user cannot walk down to <home> (typically a home directory under /root, mode
    // 0700). Rather than loosen permissions on someone's directories, keep the data where that
    // user can reach it and leave a symlink as the pointer.
    const fs::path shared_root = "/var/lib/tasklog";
    const fs::path base = shared_root / short_hash(home_);
    fs::create_directories(base);
    fs::permissions(shared_root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                     fs::perms::others_read | fs::perms::others_exec);
    fs::permissions(base, fs::perms::owner_all);
    give_to_server_user(base);
    fs::create_directory_symlink(base / "data", link);
    spdlog::warn("PostgreSQL's OS user '{}' cannot reach {}; its data directory is {} (linked from {})",
                 server_user_->name, home_.string(), (base / "data").string(), link.string());
  }
  data_dir_ = resolve_data_dir(home_);
  socket_dir_ = socket_dir_for(data_dir_);
  if (server_user_ && !user_can_access(*server_user_, data_dir_.parent_path(), X_OK)) {
    throw std::runtime_error(fmt::format("PostgreSQL's OS user '{}' cannot reach {}: grant it search (x) permission "
                                         "on every directory of that path, or choose another TASKLOG_HOME",
                                         server_user_->name, data_dir_.parent_path().string()));
  }
}

void EmbeddedPostgres::init_cluster(const fs::path& bindir) {
  const auto started_at = std::chrono::steady_clock::now();
  // initdb works in a staging directory that is renamed into place only when complete, so an
  // initdb killed half-way never leaves a data directory that looks usable.
  const fs::path staging = data_dir_.parent_path() / (data_dir_.filename().string() + ".initdb");
  fs::remove_all(staging);
  fs::create_directory(staging);
  fs::permissions(staging, fs::perms::owner_all);
  give_to_server_user(staging);

  LogFile log(log_file_);
  const pid_t pid = spawn(SpawnOptions{
      .argv = {(bindir / "initdb").string(), "-D", staging.string(), "-U", std::string(superuser), "--auth=trust",
               "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"},
      .env = {},
      .run_as = server_user_,
      .output_fd = log.fd(),
      .detach = false});
  if (const int status = wait_for_exit(pid); status != 0) {
    throw std::runtime_error(
        fmt::format("initdb failed (exit {}); the end of {}:\n{}", status, log_file_.string(), log_tail()));
  }
  // tasklog.conf is rewritten on every start (write_settings), so settings follow the options.
  std::ofstream(staging / "postgresql.conf", std::ios::app)
      << "\n# tasklog: the embedded launcher's settings, rewritten on every start\n"
         "include_if_exists = 'tasklog.conf'\n";
  fs::rename(staging, data_dir_);
  spdlog::info("initialized a PostgreSQL cluster in {} ({} ms)", data_dir_.string(), elapsed_ms(started_at));
}

void EmbeddedPostgres::write_settings() const {
  const fs::path file = data_dir_ / "tasklog.conf";
  std::ofstream out(file, std::ios::trunc);
  out << "# Written by tasklog on every start of the embedded cluster: edits here are overwritten.\n"
      << "listen_addresses = ''\n"
      << "unix_socket_directories = " << conf_value(socket_dir_.string()) << "\n"
      << "unix_socket_permissions = 0700\n"
      << "port = " << port_ << "\n";
  for (const auto& setting : options_.settings) {
    const auto [key, value] = split_setting(setting);
    out << key << " = " << conf_value(value) << "\n";
  }
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
  give_to_server_user(file);
}

void EmbeddedPostgres::prepare_socket_dir() const {
  if (mkdir(socket_dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::system_error(errno, std::generic_category(), "mkdir " + socket_dir_.string());
  }
  // /tmp is shared: a directory of this name made by someone else (or a symlink) could capture
  // our connections, so it must be a real directory owned by us or by the server's user.
  struct stat st {};
  if (lstat(socket_dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error(fmt::format("{} is not a directory; remove it", socket_dir_.string()));
  }
  const uid_t owner = server_user_ ? server_user_->uid : geteuid();
  if (st.st_uid != owner && st.st_uid != geteuid()) {
    throw std::runtime_error(
        fmt::format("socket directory {} belongs to uid {}, not to PostgreSQL's user; remove it", socket_dir_.string(),
                    st.st_uid));
  }
  chmod(socket_dir_.c_str(), 0700);
  give_to_server_user(socket_dir_);
}

void EmbeddedPostgres::clear_stale_state() const {
  // Backends of a killed postmaster notice its death and exit within moments; until they have,
  // they hold the old shared memory and PostgreSQL would refuse to start.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (auto left = postgres_processes_in(data_dir_); !left.empty(); left = postgres_processes_in(data_dir_)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(fmt::format("PostgreSQL processes (e.g. pid {}) still run in {} without a postmaster; "
                                           "stop them (kill {}) and start again",
                                           left.front(), data_dir_.string(), left.front()));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  // No process of ours runs any more (running() found no postmaster, and the loop above saw no
  // backend), so lock files left behind are stale. PostgreSQL replaces one whose pid is gone, but
  // refuses one whose pid kill(pid, 0) still finds: a pid recycled by an unrelated process, or our
  // killed postmaster as a zombie that init has not reaped yet. We remove them either way.
  for (const fs::path& lock :
       {data_dir_ / "postmaster.pid", socket_dir_ / (".s.PGSQL." + std::to_string(port_) + ".lock")}) {
    const auto lines = read_lines(lock);
    if (lines.empty()) continue;
    spdlog::warn("removing stale {} (pid {}) left by a PostgreSQL that did not shut down", lock.string(), lines[0]);
    fs::remove(lock);
  }
}

bool EmbeddedPostgres::wait_until_ready(pid_t pid, const fs::path& socket_dir, int port) const {
  const auto ping = make_conninfo(socket_dir, port, "postgres");
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  // PQPING_REJECT means starting up, recovering or shutting down: keep asking while it lives.
  while (PQping(ping.c_str()) != PQPING_OK) {
    if (!process_alive(pid)) return false;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(fmt::format("PostgreSQL (pid {}) did not accept connections within {} s; the end of {}:\n{}",
                                           pid, options_.start_timeout.count(), log_file_.string(), log_tail()));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

void EmbeddedPostgres::ensure_database() const {
  pqxx::connection conn{conninfo("postgres")};
  pqxx::nontransaction tx{conn};
  if (!tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", std::string(database)).empty()) return;
  try {
    tx.exec("CREATE DATABASE " + tx.quote_name(std::string(database)));
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() != "42P04") throw;  // duplicate_database: someone else was quicker, which is fine
  }
}

void EmbeddedPostgres::give_to_server_user(const fs::path& path) const {
  if (server_user_ && lchown(path.c_str(), server_user_->uid, server_user_->gid) != 0) {
    throw std::system_error(errno, std::generic_category(), "chown " + path.string());
  }
}

std::string EmbeddedPostgres::log_tail() const {
  std::ifstream in(log_file_, std::ios::binary);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<long long>(in.tellg());
  in.seekg(std::max(0LL, size - 4096));
  std::stringstream tail;
  tail << in.rdbuf();
  return tail.str();
}

}  // namespace tasklog::events
