// The test WebSocket client: Beast's async operations driven by the client's own io_context, so
// that tcp_stream's timeouts bound every step (Beast's synchronous calls have none).
#include "tests/support/ws_client.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket.hpp>

#include <stdexcept>

namespace tasklog::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

WsClient::WsClient(tcp::endpoint server, int receive_buffer)
    : server_(server), ws_(ioc_), receive_buffer_(receive_buffer) {}

template <class Start>
void WsClient::run(Start&& start, const char* what) {
  beast::error_code result;
  beast::get_lowest_layer(ws_).expires_after(timeout_);
  start([&](beast::error_code ec, auto&&...) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) throw beast::system_error(result, what);
}

unsigned WsClient::connect(const std::string& target, const std::string& token) {
  auto& stream = beast::get_lowest_layer(ws_);
  stream.socket().open(tcp::v4());
  if (receive_buffer_ > 0) stream.socket().set_option(net::socket_base::receive_buffer_size(receive_buffer_));
  run([&](auto done) { stream.async_connect(server_, done); }, "connect");
  ws_.set_option(websocket::stream_base::decorator([token, offered = offered_](websocket::request_type& request) {
    if (!token.empty()) request.set(beast::http::field::authorization, "Bearer " + token);
    if (!offered.empty()) request.set(beast::http::field::sec_websocket_protocol, offered);
  }));
  websocket::response_type response;
  beast::error_code result;
  stream.expires_after(timeout_);
  ws_.async_handshake(response, "127.0.0.1", target, [&](beast::error_code ec) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result && response.result_int() == 101) throw beast::system_error(result, "handshake");
  const auto accepted = response[beast::http::field::sec_websocket_protocol];
  accepted_.assign(accepted.data(), accepted.size());
  return response.result_int();
}

void WsClient::send(const std::string& text) {
  run([&](auto done) { ws_.async_write(net::buffer(text), done); }, "write");
}

rapidjson::Document WsClient::next() {
  auto text = next_text();
  if (!text) throw std::runtime_error("the server closed the stream: " + std::string(ws_.reason().reason.c_str()));
  rapidjson::Document doc;
  doc.Parse(text->data(), text->size());
  if (doc.HasParseError()) throw std::runtime_error("not JSON: " + *text);
  return doc;
}

std::optional<std::string> WsClient::next_text() {
  beast::error_code result;
  beast::get_lowest_layer(ws_).expires_after(timeout_);
  ws_.async_read(buffer_, [&](beast::error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result == websocket::error::closed || result == net::error::eof || result == net::error::connection_reset) {
    closed_ = true;
    return std::nullopt;
  }
  if (result) throw beast::system_error(result, "read");
  std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  return text;
}

void WsClient::drop() {
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(ws_).close();
}

}  // namespace tasklog::testing
