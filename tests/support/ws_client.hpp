// A WebSocket client for tests over real sockets (Boost.Beast) on its own io_context: every
// operation has a deadline, so a server that never answers fails the test instead of hanging it.
// Not thread-safe: one client per thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <rapidjson/document.h>

#include <chrono>
#include <optional>
#include <string>

namespace tasklog::testing {

class WsClient {
 public:
  // receive_buffer > 0 shrinks the socket's receive buffer before connecting (a slow reader).
  explicit WsClient(boost::asio::ip::tcp::endpoint server, int receive_buffer = 0);

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  // Sec-WebSocket-Protocol to offer (as a browser does, e.g. "tasklog, tasklog.token.<token>").
  void offer_subprotocols(std::string offered) { offered_ = std::move(offered); }
  // The Sec-WebSocket-Protocol of the server's answer to connect() (empty when none).
  const std::string& accepted_subprotocol() const { return accepted_; }

  // The handshake's HTTP status: 101 when upgraded. Throws when the connection fails.
  unsigned connect(const std::string& target, const std::string& token = {});

  void send(const std::string& text);

  // The next message; throws on a timeout or a closed connection.
  rapidjson::Document next();

  // The next message, or nullopt when the server closed the connection (see close_code()).
  std::optional<std::string> next_text();

  // The close code the server sent (0 when none arrived).
  unsigned close_code() const { return ws_.reason().code; }
  std::string close_reason() const { return std::string(ws_.reason().reason.c_str()); }
  bool closed() const { return closed_; }

  // Drops the TCP connection without a close handshake (a client that goes away).
  void drop();

 private:
  template <class Start>
  void run(Start&& start, const char* what);

  boost::asio::ip::tcp::endpoint server_;
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  int receive_buffer_ = 0;
  std::chrono::milliseconds timeout_{30000};
  bool closed_ = false;
  std::string offered_;
  std::string accepted_;
};

}  // namespace tasklog::testing
