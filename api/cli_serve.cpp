// `tasklog serve`: bring the database up (embedded, or the one --database-url names), migrate it,
// run until SIGINT/SIGTERM, then shut down in reverse order.
#include "api/cli.hpp"

#include "events/migrator.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <csignal>
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

// "HOST:PORT" (an IPv6 host in brackets: "[::1]:8080") -> endpoint; throws on anything else.
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
  if (bad_address) throw std::invalid_argument("bad IP address in '" + text + "'");
  return {address, static_cast<unsigned short>(port)};
}

void serve(const ServeOptions& options) {
  const auto listen = parse_listen(options.listen);
  net::io_context ioc;
  // Installed before the (possibly slow) database start, so that a signal arriving meanwhile is
  // queued here instead of killing us with PostgreSQL half up; it is handled once ioc runs.
  net::signal_set signals(ioc, SIGINT, SIGTERM);

  std::optional<events::EmbeddedPostgres> embedded;
  std::string conninfo = options.database_url;
  if (conninfo.empty()) {
    embedded.emplace(options.cluster.launcher_options());
    embedded->start();
    conninfo = embedded->conninfo();
    spdlog::info("embedded PostgreSQL: data {}, log {}", embedded->data_dir().string(),
                 embedded->log_file().string());
  }
  try {
    events::Migrator(conninfo).migrate(events::embedded_migrations());

    // Seam for the HTTP/WebSocket/MCP server (its own issue): it is constructed here on `ioc`
    // with `listen` and `conninfo`, started before ioc.run(), and closed in the signal handler
    // below so in-flight requests finish before PostgreSQL stops.
    spdlog::info("tasklog ready on database \"{}\"; HTTP endpoint {}:{} is reserved for the API server; "
                 "SIGINT or SIGTERM stops",
                 conninfo, listen.address().to_string(), listen.port());
    signals.async_wait([](const boost::system::error_code& ec, int signal_number) {
      if (!ec) spdlog::info("received signal {}, shutting down", signal_number);
    });
    ioc.run();
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
