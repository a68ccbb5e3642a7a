// The socket-free part of an HTTP exchange (see the header).
#include "api/http_exchange.hpp"

#include "api/router.hpp"
#include "api/services.hpp"
#include "core/error_details.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>

namespace tasklog::api {

void apply_limits(RequestParser& parser, const HttpLimits& limits) {
  parser.body_limit(limits.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
}

std::optional<DomainError> read_error_reply(boost::beast::error_code ec, const HttpLimits& limits) {
  if (ec == http::error::body_limit) {
    return DomainError(ErrorCode::payload_too_large,
                       "the request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes",
                       ErrorDetails{}.add("limit", static_cast<std::int64_t>(limits.max_body_bytes)).add("part", "body").json());
  }
  if (ec == http::error::header_limit) {
    return DomainError(ErrorCode::payload_too_large,
                       "the request headers exceed " + std::to_string(limits.max_header_bytes) + " bytes",
                       ErrorDetails{}.add("limit", static_cast<std::int64_t>(limits.max_header_bytes)).add("part", "headers").json());
  }
  // end_of_stream and partial_message belong to the same category but mean the client stopped
  // sending: there is nobody to answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return DomainError(ErrorCode::validation_failed, "malformed HTTP request: " + ec.message(),
                       ErrorDetails{}.add("keyword", "syntax").json());
  }
  return std::nullopt;
}

void add_server_routes(Router& router) {
  add_ops_routes(router);
  add_v1_routes(router);
  // The upgrade never reaches the router; a plain GET does, and learns what to send instead.
  router.add(
      http::verb::get, "/v1/stream",
      [](RequestContext&) -> Response {
        auto response = error_response(DomainError(ErrorCode::validation_failed,
                                                   "GET /v1/stream is a WebSocket endpoint: send an Upgrade request"));
        response.result(http::status::upgrade_required);
        response.set(http::field::upgrade, "websocket");
        return response;
      },
      RouteOptions{.authenticated = false});
}

Response handle_request(const Router& router, ApiServices& services, const Request& request) {
  const auto started = std::chrono::steady_clock::now();
  std::string route;
  Response response;
  try {
    response = router.dispatch(request, services, &route);
  } catch (const std::exception& e) {  // dispatch promises not to throw; a bad_alloc still might
    spdlog::error("http: dispatch threw: {}", e.what());
    response = error_response(DomainError(ErrorCode::internal, "internal error"));
  }
  services.metrics.observe_request(route, response.result_int(), std::chrono::steady_clock::now() - started);
  return response;
}

void handle_request_async(const Router& router, ApiServices& services, std::shared_ptr<const Request> request,
                          boost::asio::any_io_executor where, std::function<void(Response)> done) {
  const auto started = std::chrono::steady_clock::now();
  // Written by the router before any handler runs, read when the answer comes.
  auto route = std::make_shared<std::string>();
  auto deliver = [&services, request, where, done, route, started](Reply::Maker make) {
    boost::asio::post(where, [&services, request, done, route, started, make = std::move(make)] {
      Response response = Router::answer(*request, make);
      services.metrics.observe_request(*route, response.result_int(), std::chrono::steady_clock::now() - started);
      done(std::move(response));
    });
  };
  try {
    router.dispatch_async(*request, services, route.get(), deliver);
  } catch (const std::exception& e) {  // dispatch_async promises not to throw; a bad_alloc still might
    spdlog::error("http: dispatch threw: {}", e.what());
    deliver([] { return error_response(DomainError(ErrorCode::internal, "internal error")); });
  }
}

void finish_response(Response& response, unsigned version, bool keep_alive, http::verb method) {
  response.version(version);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  if (method == http::verb::head) response.body().clear();
}

}  // namespace tasklog::api
