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
// Asynchronous routes (add() with an AsyncHandler): the handler hands its work on and returns, so
// the thread that ran it is free while, say, the event store's writer commits; the answer comes
// later through Reply. dispatch() waits for it; dispatch_async() never blocks on it.
//
// Thread-safety: add() before the server starts; dispatch() from any number of threads.
#pragma once

#include "api/http_types.hpp"
#include "core/error.hpp"

#include <exception>
#include <functional>
#include <optional>
#include <set>
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

// An asynchronous handler's way back. The work it handed on calls answer() exactly once, from any
// thread, with a function that makes the response; that maker runs where the exchange continues
// (the connection's I/O strand in the server, the waiting thread in dispatch()), never on the
// thread that completed the work, and what it throws becomes the error response exactly as for a
// synchronous handler. A handler that throws has not answered and must not answer later.
class Reply {
 public:
  using Maker = std::function<Response()>;
  explicit Reply(std::function<void(Maker)> deliver) : deliver_(std::move(deliver)) {}
  void answer(Maker make) const { deliver_(std::move(make)); }
  // Answers with what `error` maps to (a DomainError's code, 503 for a lost database, ...).
  void fail(std::exception_ptr error) const {
    deliver_([error]() -> Response { std::rethrow_exception(error); });
  }

 private:
  std::function<void(Maker)> deliver_;
};

// RequestContext lives only until the handler returns: what the answer needs is copied out first.
using AsyncHandler = std::function<void(RequestContext&, Reply)>;

// An asynchronous handler run to its answer on the calling thread (which blocks until then).
Handler blocking(AsyncHandler handler);

struct RouteOptions {
  bool authenticated = true;
  // The router checks only that a token of our shape is there and leaves the lookup to the
  // handler, which signs it in within the round trip of its one read (auth.hpp read_tasks_signed_in):
  // one round trip per request instead of two. ctx.principal stays empty.
  bool checks_token_itself = false;
  // The (asynchronous) handler hands its work on at once and never waits — no database call, no
  // long lock — so the server runs it on the connection's I/O thread instead of posting it to a
  // worker: one hand-off between threads fewer per request (GET /v1/tasks/{id} at 32 connections:
  // 16,600–20,900/s against 15,000–16,000 through a worker, three runs each). Only for routes that
  // check their token themselves or need none (the router's own look-up is a round trip); add()
  // refuses others.
  bool never_blocks = false;
  // Runs before the token check; a response it returns is the answer. For /mcp's Origin check:
  // the transport wants 403 for a foreign Origin whatever else is wrong, a missing token included.
  std::function<std::optional<Response>(const Request&)> before_sign_in{};
};

class Router {
 public:
  void add(http::verb method, std::string pattern, Handler handler, RouteOptions options = {});
  void add(http::verb method, std::string pattern, AsyncHandler handler, RouteOptions options = {});
  // Never throws: every failure is a Response. The server sets version and keep-alive afterwards.
  // An asynchronous route's answer is waited for.
  Response dispatch(const Request& request, ApiServices& services, std::string* route_label = nullptr) const;
  // Never blocks on an asynchronous handler and never throws: `deliver` receives the maker of the
  // response exactly once — at once, on this thread, for a synchronous route or a refusal before
  // the handler answered; later, from wherever the work completes, for an asynchronous one. Run
  // the maker with answer(). *route_label is set before any handler runs.
  void dispatch_async(const Request& request, ApiServices& services, std::string* route_label,
                      std::function<void(Reply::Maker)> deliver) const;
  // The response a delivered maker makes, with dispatch()'s mapping of what it throws.
  static Response answer(const Request& request, const Reply::Maker& make);
  // Whether the request's route is never_blocks (the server may run dispatch_async on its I/O
  // thread); false for a request no route matches.
  bool never_blocks(const Request& request) const;

 private:
  struct Route {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;       // for dispatch(): an asynchronous handler wrapped in blocking()
    AsyncHandler async{};  // for dispatch_async(), when the route has one
    RouteOptions options;
  };
  // Matches, authenticates and runs the route. A synchronous answer (or a refusal) comes back; an
  // asynchronous handler, when `deliver` is given, answers through it and nothing comes back.
  struct Found {
    const Route* route = nullptr;             // the route of the path and method
    const std::string* same_path = nullptr;   // else: a pattern of this path with another method
    std::vector<std::string_view> allowed{};  // the methods of the path's patterns
  };
  Found find(http::verb method, const std::vector<std::string_view>& segments) const;
  void push(http::verb method, std::string pattern, Handler handler, AsyncHandler async, RouteOptions options);
  std::optional<Response> run(const Request& request, ApiServices& services, std::string* route_label,
                              const std::function<void(Reply::Maker)>* deliver) const;
  std::vector<Route> routes_;
  std::set<http::verb> never_blocks_methods_;  // the methods of never_blocks routes
};

// A query string, percent-decoded (RFC 3986; '+' is a space, as HTML forms send it) into UTF-8
// keys and values; a later duplicate wins. Throws DomainError(validation_failed) for a malformed
// escape or bytes that are not UTF-8. The router's, and the stream upgrade's.
QueryParams parse_query(std::string_view query);
// "Authorization: Bearer <token>" (the scheme is case-insensitive, RFC 7235); nullopt otherwise.
std::optional<std::string_view> bearer_token(const Request& request);

// Registers /healthz, /readyz, /metrics (api/ops_routes.cpp).
void add_ops_routes(Router& router);
// Registers every /v1 route (api/routes_*.cpp).
void add_v1_routes(Router& router);

}  // namespace tasklog::api
