// Router: method + path pattern -> handler, and the one place where a request is authenticated
// and where every exception a handler throws becomes the one error shape.
//
// Patterns are literal segments and "{name}" captures, e.g. "/v1/tasks/{id}/claim"; captures are
// handed to the handler in order (RequestContext::params). A path that matches a pattern with
// another method answers 405 method_not_allowed (with an Allow header); no match answers 404.
//
// dispatch(): authenticated routes require "Authorization: Bearer <token>" (401 unauthorized
// otherwise); DomainError -> error_response; a database that cannot be reached (pqxx
// broken_connection, or DomainError unavailable from the pool) -> 503; anything else -> 500
// internal, logged with the request line — never a crash.
//
// Thread-safety: add() before the server starts; dispatch() from any number of threads.
#pragma once

#include "api/http_types.hpp"
#include "core/error.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::api {

struct ApiServices;

struct RequestContext {
  const Request& request;
  ApiServices& services;
  std::string route;                    // the matched pattern (metrics label), e.g. "/v1/tasks/{id}"
  std::vector<std::string> params;      // the pattern's captures, in order, percent-decoded
  QueryParams query;                    // the decoded query string
  std::optional<Principal> principal;   // set for authenticated routes (not checks_token_itself ones)
  std::string_view bearer_token{};      // the request's token, for routes that check it themselves
  const Principal& user() const {
    if (!principal) throw DomainError(ErrorCode::internal, "a route that checks its token itself asked for the user");
    return *principal;
  }
};

using Handler = std::function<Response(RequestContext&)>;

struct RouteOptions {
  bool authenticated = true;
  // The router checks only that a token of our shape is there and leaves the lookup to the
  // handler, which signs it in within the round trip of its one read (auth.hpp read_task_signed_in):
  // one round trip per request instead of two. ctx.principal stays empty.
  bool checks_token_itself = false;
};

class Router {
 public:
  void add(http::verb method, std::string pattern, Handler handler, RouteOptions options = {});
  // Never throws: every failure is a Response. The server sets version and keep-alive afterwards.
  Response dispatch(const Request& request, ApiServices& services, std::string* route_label = nullptr) const;

 private:
  struct Route {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    RouteOptions options;
  };
  std::vector<Route> routes_;
};

// Registers /healthz, /readyz, /metrics (api/ops_routes.cpp).
void add_ops_routes(Router& router);
// Registers every /v1 route (api/routes_*.cpp).
void add_v1_routes(Router& router);

}  // namespace tasklog::api
