// A small HTTP/1.1 client for tests over real sockets (Boost.Beast): one keep-alive connection,
// requests answered in order, and raw bytes for requests no well-behaved client would send.
//
// Every operation has a deadline (default 30 s): a server that never answers fails the test with
// a timeout instead of hanging it. Not thread-safe: one client per thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <rapidjson/document.h>

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tasklog::testing {

struct HttpResult {
  unsigned status = 0;
  std::map<std::string, std::string> headers{};  // names lower-cased
  std::string body{};

  // A header's value ("" when absent); the name is case-insensitive.
  std::string header(std::string_view name) const;
  // The body as JSON; fails the test (throws) when it is not JSON.
  rapidjson::Document json() const;
  // "error.code" of the error shape, "" when the body is not one.
  std::string error_code() const;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  // bearer_token: sent as "Authorization: Bearer <token>" on every request unless empty or the
  // request names its own Authorization header.
  explicit HttpClient(boost::asio::ip::tcp::endpoint server, std::string bearer_token = {});
  ~HttpClient();
  HttpClient(HttpClient&&) = delete;  // the stream refers to the client's io_context

  void set_token(std::string bearer_token) { token_ = std::move(bearer_token); }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  // Sends one request and reads its response on the kept-alive connection (connecting first when
  // there is none, e.g. after the server closed it). A body defaults to Content-Type:
  // application/json unless headers name another.
  HttpResult request(boost::beast::http::verb method, std::string_view target, std::string body = {},
                     const HttpHeaders& headers = {});
  HttpResult get(std::string_view target, const HttpHeaders& headers = {}) {
    return request(boost::beast::http::verb::get, target, {}, headers);
  }
  HttpResult post(std::string_view target, std::string body, const HttpHeaders& headers = {}) {
    return request(boost::beast::http::verb::post, target, std::move(body), headers);
  }
  HttpResult patch(std::string_view target, std::string body, const HttpHeaders& headers = {}) {
    return request(boost::beast::http::verb::patch, target, std::move(body), headers);
  }
  HttpResult del(std::string_view target, std::string body = {}, const HttpHeaders& headers = {}) {
    return request(boost::beast::http::verb::delete_, target, std::move(body), headers);
  }

  // Low level: write exactly these bytes (connecting first if needed), then read responses one
  // by one. For pipelining and malformed requests.
  void send_raw(std::string_view bytes);
  HttpResult read_response(bool to_head = false);

  // True when the server closes the connection (EOF or reset) within `timeout` without sending
  // anything more; false when it stays open (or sends data).
  bool wait_until_closed(std::chrono::milliseconds timeout);

  void connect();
  void close();
  bool is_open() const;
  // Connections opened so far: a keep-alive test expects 1 after many requests.
  int connections_opened() const { return connections_opened_; }

 private:
  template <class Start>
  void run_with_deadline(Start&& start, const char* what);

  boost::asio::ip::tcp::endpoint server_;
  std::string token_;
  std::chrono::milliseconds timeout_{30000};
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool open_ = false;
  int connections_opened_ = 0;
};

}  // namespace tasklog::testing
