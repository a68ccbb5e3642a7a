// `tasklog serve`: bring the database up (embedded, or the one --database-url names), migrate it,
// create the first admin on an empty database, serve HTTP until SIGINT/SIGTERM, then shut down in
// reverse order: the HTTP server (in-flight requests finish, the append batch is flushed), then
// the embedded PostgreSQL.
#include "api/api_server.hpp"
#include "api/auth.hpp"
#include "api/cli.hpp"
#include "api/dashboard.hpp"

#include "events/database.hpp"
#include "events/file_lock.hpp"
#include "events/migrator.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

namespace tasklog::api {
namespace {

namespace net = boost::asio;

struct ServeOptions {
  std::string database_url;
  std::string listen = "127.0.0.1:8080";
  EmbeddedClusterOptions cluster;
};

// "HOST:PORT" (an IPv6 host in brackets: "[::1]:8080"; a name such as localhost is resolved, its
// IPv4 address first) -> endpoint; throws on anything else.
net::ip::tcp::endpoint parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected HOST:PORT, got '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const auto port_text = std::string_view(text).substr(colon + 1);
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    throw std::invalid_argument("bad port in '" + text + "'");
  }
  boost::system::error_code bad_address;
  const auto address = net::ip::make_address(host, bad_address);
  if (!bad_address) return {address, static_cast<unsigned short>(port)};
  net::io_context resolving;
  net::ip::tcp::resolver resolver(resolving);
  for (const auto family : {net::ip::tcp::v4(), net::ip::tcp::v6()}) {
    boost::system::error_code not_found;
    const auto results = resolver.resolve(family, host, std::string(port_text), not_found);
    if (!not_found && !results.empty()) return results.begin()->endpoint();
  }
  throw std::invalid_argument("'" + host + "' in '" + text + "' is neither an IP address nor a name that resolves");
}

// Writes the admin token where only its owner can read it: created 0600 (never briefly wider),
// and an existing file from an earlier database is truncated and narrowed as well.
void write_admin_token(const std::filesystem::path& file, const std::string& token) {
  std::filesystem::create_directories(file.parent_path());
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
  const std::string text = token + "\n";
  const bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int error = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error(fmt::format("cannot write {}: {}", file.string(), std::strerror(error)));
}

// The first start on a database without users creates the admin and hands out its token once.
// Returns the admin token this server can offer in the dashboard URL: the one just created, or the
// one of $TASKLOG_HOME/admin.token while it still authenticates an admin on this database (a file
// left from an earlier database, or a revoked token, is not offered).
std::optional<std::string> bootstrap(const std::string& conninfo, const std::filesystem::path& home) {
  pqxx::connection connection{conninfo};
  const auto file = std::filesystem::absolute(home) / "admin.token";
  if (const auto admin = bootstrap_admin(connection)) {
    // Shown before it is saved: the user is committed, and a token that could not be written to
    // the file (a home that cannot be created) must not be lost with it — nothing shows it again.
    fmt::print("created the admin user admin@localhost; its bearer token:\n{}\n", admin->secret);
    std::fflush(stdout);
    try {
      write_admin_token(file, admin->secret);
      fmt::print("(saved in {}, mode 0600)\n", file.string());
    } catch (const std::exception& e) {
      spdlog::warn("the admin token was not saved ({}); keep the one printed above", e.what());
    }
    std::fflush(stdout);
    return admin->secret;
  }
  std::ifstream in(file);
  std::string token;
  if (!(in >> token)) return std::nullopt;
  const auto principal = authenticate(connection, token);
  if (!principal || !principal->admin) return std::nullopt;
  return token;
}

void serve(const ServeOptions& options) {
  const auto listen = parse_listen(options.listen);
  net::io_context ioc;
  // Installed before the (possibly slow) database start, so that a signal arriving meanwhile is
  // queued here instead of killing us with PostgreSQL half up; it is handled once ioc runs.
  net::signal_set signals(ioc, SIGINT, SIGTERM);

  std::optional<events::EmbeddedPostgres> embedded;
  std::unique_ptr<events::FileLock> home_lock;
  std::string conninfo = options.database_url;
  if (conninfo.empty()) {
    // One serve per home: a second one would adopt the first one's PostgreSQL as if its tasklog
    // had died, and stop it when it exits (on its failed bind, at once) — taking the database away
    // from the server that is using it. Held until this process ends (a crash releases it).
    const std::filesystem::path home(options.cluster.home);
    std::filesystem::create_directories(home);
    home_lock = lock_home(home, "");
    if (!home_lock)
      throw std::runtime_error(fmt::format(
          "another tasklog serve is running on {} ({}); stop it first, or give this one its own --home, or share "
          "one database between servers with --database-url",
          std::filesystem::absolute(home).string(), [&] {
            const std::string holder = home_lock_holder(home);
            return holder.empty() ? std::string("its pid is not known") : holder;
          }()));
    embedded.emplace(options.cluster.launcher_options());
    embedded->start();
    conninfo = embedded->conninfo();
    spdlog::info("embedded PostgreSQL: data {}, log {}", embedded->data_dir().string(),
                 embedded->log_file().string());
  }
  // Every connection of the server talks UTF-8 (events/database.hpp utf8_conninfo).
  conninfo = events::utf8_conninfo(conninfo);
  try {
    events::Migrator(conninfo).migrate(events::embedded_migrations());
    const auto admin_token = bootstrap(conninfo, options.cluster.home);

    ApiServerOptions server_options;
    server_options.conninfo = conninfo;
    server_options.listen = listen;
    ApiServer server(std::move(server_options));
    server.start();
    const auto bound = server.endpoint();
    const auto host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
    // On stdout, for people and scripts: with --listen HOST:0 this is where the real port is told.
    const auto base_url = fmt::format("http://{}:{}", host, bound.port());
    fmt::print("tasklog listening on {}\n", base_url);
    // The dashboard, signed in as the admin: the token travels in the URL's fragment, which the
    // browser never sends (api/dashboard.hpp).
    fmt::print("dashboard: {}\n", dashboard_url(base_url, admin_token.value_or("")));
    std::fflush(stdout);
    spdlog::info("tasklog ready on database \"{}\"; SIGINT or SIGTERM stops", events::loggable_conninfo(conninfo));
    signals.async_wait([](const boost::system::error_code& ec, int signal_number) {
      if (!ec) spdlog::info("received signal {}, shutting down", signal_number);
    });
    ioc.run();
    // Graceful: stop accepting, finish in-flight requests, flush the append batch — all before
    // PostgreSQL goes away below.
    server.stop();
  } catch (...) {
    // A refused migration must not leave a server we started behind.
    if (embedded) embedded->stop();
    throw;
  }
  if (embedded) embedded->stop();
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServeOptions>();
  auto* command = app.add_subcommand(
      "serve", "Run tasklog: without a database URL it starts an embedded PostgreSQL under --home, migrates it, "
               "and stops it again on SIGINT/SIGTERM");
  command->add_option("--database-url", options->database_url, "PostgreSQL 15+ connection URL or conninfo")
      ->envname("TASKLOG_DATABASE_URL");
  command->add_option("--listen", options->listen, "HOST:PORT of the HTTP API")
      ->capture_default_str()
      ->check([](const std::string& text) {
        try {
          parse_listen(text);
          return std::string();
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
      });
  add_embedded_cluster_options(*command, options->cluster, true);
  command->callback([options, &exit_code] {
    serve(*options);
    exit_code = 0;
  });
}

}  // namespace tasklog::api
