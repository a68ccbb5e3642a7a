// libFuzzer target: the bytes a client sends on one connection of `tasklog serve`.
//
// They go through what a session does (api/api_server.cpp), minus the socket: Beast's request
// parser with the server's limits, the answer to a read that fails (413/431/400, or silence), a
// WebSocket upgrade's admission (api/stream_session.hpp), and the server's request handling over
// the server's route table (api/http_exchange.hpp): routing, percent-decoding, bearer
// authentication, body parsing, parameters, validation, the commands themselves against a real
// database (tests/fuzz/fuzz_world.hpp), and the error mapping. Pipelined requests are answered in
// turn while the connection stays open, as the server does.
//
// Invariants (tests/fuzz/fuzz_checks.hpp): no crash, leak or undefined behaviour; every answer is
// a well-formed HTTP response; 4xx/5xx carry the JSON error envelope with a stable code; no 500.
#include "api/http_exchange.hpp"
#include "api/services.hpp"
#include "api/stream_session.hpp"
#include "tests/fuzz/fuzz_checks.hpp"
#include "tests/fuzz/fuzz_world.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {

using namespace tasklog;
namespace http = api::http;

// A connection's requests; more would only repeat what the first few reach.
constexpr int kMaxRequestsPerInput = 4;

// One request from the front of `rest` (consumed as the parser consumes it), or the read's error.
// All the bytes are "on the wire" at once; reaching their end is the client closing its side.
boost::beast::error_code read_request(std::string_view& rest, api::RequestParser& parser) {
  for (;;) {
    boost::beast::error_code ec;
    const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    if (ec && ec != http::error::need_more) return ec;
    if (parser.is_done()) return {};
    if (used > 0) continue;
    // No progress with every byte there is: the client closed its side here.
    if (!parser.got_some()) return http::error::end_of_stream;
    parser.put_eof(ec);
    if (!ec && !parser.is_done()) ec = http::error::partial_message;
    return ec;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto world = fuzz::world();
  const auto& limits = world.services.limits;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int n = 0; n < kMaxRequestsPerInput; ++n) {
    const std::string_view wire = rest;
    api::RequestParser parser;
    api::apply_limits(parser, limits);
    parser.eager(true);
    const auto ec = read_request(rest, parser);
    const std::string_view sent = wire.substr(0, wire.size() - rest.size());
    if (ec) {
      if (const auto error = api::read_error_reply(ec, limits)) {
        auto response = api::error_response(*error);
        api::finish_response(response, 11, false);
        fuzz::check_http_response(response, sent);
      }
      return 0;  // the connection closes
    }
    const api::Request request = parser.release();
    if (api::is_stream_request(request)) {
      // The socket would now belong to the WebSocket session (not this target's business); a
      // refusal is an ordinary response.
      auto admission = api::admit_stream(request, world.services.pool);
      if (auto* refused = std::get_if<api::Response>(&admission)) {
        api::finish_response(*refused, request.version(), false);
        fuzz::check_http_response(*refused, sent);
      }
      return 0;
    }
    const auto response = fuzz::answer(request);
    fuzz::check_http_response(response, sent, request.method());
    if (!request.keep_alive()) return 0;
  }
  return 0;
}
