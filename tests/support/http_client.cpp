// The test HTTP client: Beast's async operations driven by the client's own io_context, so that
// tcp_stream's timeouts bound every step (Beast's synchronous calls have none).
#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>

namespace tasklog::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string HttpResult::header(std::string_view name) const {
  const auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

rapidjson::Document HttpResult::json() const {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) throw std::runtime_error("response body is not JSON: " + body);
  return doc;
}

std::string HttpResult::error_code() const {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return {};
  const auto error = doc.FindMember("error");
  if (error == doc.MemberEnd() || !error->value.IsObject()) return {};
  const auto code = error->value.FindMember("code");
  if (code == error->value.MemberEnd() || !code->value.IsString()) return {};
  return code->value.GetString();
}

HttpClient::HttpClient(net::ip::tcp::endpoint server, std::string bearer_token)
    : server_(server), token_(std::move(bearer_token)), stream_(ioc_) {}

HttpClient::~HttpClient() { close(); }

// Starts one async operation (start(done) with done(error_code)), runs the io_context until it
// completes, and throws on an error (a timeout included).
template <class Start>
void HttpClient::run_with_deadline(Start&& start, const char* what) {
  beast::error_code result;
  stream_.expires_after(timeout_);
  start([&](beast::error_code ec, auto&&...) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) {
    close();
    throw beast::system_error(result, what);
  }
}

void HttpClient::connect() {
  close();
  stream_.expires_after(timeout_);
  run_with_deadline([&](auto done) { stream_.async_connect(server_, done); }, "connect");
  open_ = true;
  ++connections_opened_;
}

void HttpClient::close() {
  if (!open_) return;
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  buffer_.clear();
  open_ = false;
}

bool HttpClient::is_open() const { return open_; }

HttpResult HttpClient::request(http::verb method, std::string_view target, std::string body,
                               const HttpHeaders& headers) {
  if (!open_) connect();
  http::request<http::string_body> req{method, beast::string_view(target.data(), target.size()), 11};
  req.set(http::field::host, server_.address().to_string() + ":" + std::to_string(server_.port()));
  bool has_content_type = false;
  bool has_authorization = false;
  for (const auto& [name, value] : headers) {
    req.insert(name, value);
    const auto key = lower(name);
    has_content_type |= key == "content-type";
    has_authorization |= key == "authorization";
  }
  if (!token_.empty() && !has_authorization) req.set(http::field::authorization, "Bearer " + token_);
  if (!body.empty() && !has_content_type) req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.keep_alive(true);
  req.prepare_payload();
  run_with_deadline([&](auto done) { http::async_write(stream_, req, done); }, "write request");
  return read_response(method == http::verb::head);
}

void HttpClient::send_raw(std::string_view bytes) {
  if (!open_) connect();
  run_with_deadline([&](auto done) { net::async_write(stream_, net::buffer(bytes.data(), bytes.size()), done); },
                    "write raw bytes");
}

HttpResult HttpClient::read_response(bool to_head) {
  http::response_parser<http::string_body> parser;
  parser.skip(to_head);  // an answer to HEAD has no content, whatever its Content-Length says
  parser.body_limit(64 * 1024 * 1024);
  run_with_deadline([&](auto done) { http::async_read(stream_, buffer_, parser, done); }, "read response");
  auto response = parser.release();
  HttpResult result;
  result.status = response.result_int();
  for (const auto& field : response) {
    result.headers[lower(std::string_view(field.name_string().data(), field.name_string().size()))] =
        std::string(field.value());
  }
  result.body = std::move(response.body());
  // The server said it closes: the next request needs a new connection.
  if (!response.keep_alive()) close();
  return result;
}

bool HttpClient::wait_until_closed(std::chrono::milliseconds timeout) {
  if (!open_) return true;
  if (buffer_.size() > 0) return false;
  beast::error_code result;
  std::size_t received = 0;
  stream_.expires_after(timeout);
  stream_.async_read_some(buffer_.prepare(1024), [&](beast::error_code ec, std::size_t n) {
    result = ec;
    received = n;
  });
  ioc_.restart();
  ioc_.run();
  if (!result) {
    buffer_.commit(received);
    return false;
  }
  const bool closed = result != beast::error::timeout;  // EOF or a reset
  close();
  return closed;
}

}  // namespace tasklog::testing
