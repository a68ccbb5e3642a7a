// Router: the route table, percent-decoding of path captures and query strings, bearer
// authentication, and the conversion of every exception into the one error shape.
#include "api/router.hpp"

#include "api/auth.hpp"
#include "api/services.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <memory>
#include <stdexcept>

namespace tasklog::api {
namespace {

// The path of a request target, split at '/': "/v1/tasks/x" -> {"v1", "tasks", "x"}. The empty
// path and "/" have no segments; a trailing slash leaves an empty last segment, which matches no
// pattern (so "/v1/projects/" is a 404, not a silent alias).
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path == "/") return segments;
  if (path.front() == '/') path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The text as an error message may quote it: only when it is printable ASCII (a raw byte above
// 0x7E would make the error's JSON body invalid UTF-8; the stream's upgrade has no target check).
std::string quoted(std::string_view text) {
  if (shown(text) == text) return fmt::format(": '{}'", text);
  return {};
}

[[noreturn]] void bad_syntax(std::string_view what, std::string_view text) {
  throw DomainError(ErrorCode::validation_failed, fmt::format("malformed percent-encoding in {}{}", what, quoted(text)),
                    ErrorDetails{}.add("keyword", "syntax").add("parameter", std::string(what)).json());
}

// RFC 3986 percent-decoding; in a query string '+' is a space as well (HTML forms send it so).
std::string percent_decode(std::string_view text, bool plus_is_space, std::string_view what) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) bad_syntax(what, text);
      const int hi = hex_digit(text[i + 1]);
      const int lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) bad_syntax(what, text);
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  // Decoded bytes become ids, filters and error messages (JSON): they must be UTF-8.
  if (!is_utf8(out))
    throw DomainError(ErrorCode::validation_failed, fmt::format("{} does not decode to UTF-8{}", what, quoted(text)),
                      ErrorDetails{}.add("keyword", "syntax").add("parameter", std::string(what)).json());
  return out;
}

bool is_connection_loss(const pqxx::sql_error& e) {
  // Class 08: connection exception; 57P01-57P03: the server is shutting down or starting up.
  const std::string& state = e.sqlstate();
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
}

Response unavailable_response(std::string_view what) {
  return error_response(DomainError(ErrorCode::unavailable, fmt::format("the database is unavailable: {}", what)));
}

// The response to the exception being handled (call it inside a catch block): DomainError -> its
// error response, a lost database -> 503, anything else -> 500 internal, logged with the request
// line.
Response failure_response(const Request& request) {
  const std::string_view method(request.method_string().data(), request.method_string().size());
  const std::string_view target(request.target().data(), request.target().size());
  try {
    throw;
  } catch (const DomainError& e) {
    if (e.code() == ErrorCode::internal) spdlog::error("{} {}: {}", method, target, e.what());
    return error_response(e);
  } catch (const pqxx::broken_connection& e) {
    spdlog::warn("{}: database connection lost: {}", target, e.what());
    return unavailable_response("the connection was lost");
  } catch (const pqxx::sql_error& e) {
    if (is_connection_loss(e)) {
      spdlog::warn("{}: database unavailable: {}", target, e.what());
      return unavailable_response(e.sqlstate());
    }
    spdlog::error("{} {}: database error {}: {}", method, target, e.sqlstate(), e.what());
    return error_response(DomainError(ErrorCode::internal, "internal error"));
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", method, target, e.what());
    return error_response(DomainError(ErrorCode::internal, "internal error"));
  } catch (...) {
    spdlog::error("{} {}: unknown exception", method, target);
    return error_response(DomainError(ErrorCode::internal, "internal error"));
  }
}

}  // namespace

QueryParams parse_query(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq), true, "the query string");
    std::string value =
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true, "the query string");
    params.insert_or_assign(std::move(key), std::move(value));
  }
  return params;
}

std::optional<std::string_view> bearer_token(const Request& request) {
  const auto it = request.find(http::field::authorization);
  if (it == request.end()) return std::nullopt;
  std::string_view value(it->value().data(), it->value().size());
  constexpr std::string_view scheme = "bearer ";
  if (value.size() <= scheme.size() || !boost::algorithm::iequals(value.substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  value.remove_prefix(scheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  return value;
}

void Router::add(http::verb method, std::string pattern, Handler handler, RouteOptions options) {
  if (options.never_blocks) throw std::invalid_argument(pattern + ": only an asynchronous route can be never_blocks");
  push(method, std::move(pattern), std::move(handler), {}, options);
}

void Router::push(http::verb method, std::string pattern, Handler handler, AsyncHandler async, RouteOptions options) {
  std::vector<std::string> segments;
  for (const auto segment : split_path(pattern)) segments.emplace_back(segment);
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), std::move(handler), std::move(async), options});
}

Handler blocking(AsyncHandler handler) {
  return [handler = std::move(handler)](RequestContext& ctx) {
    auto made = std::make_shared<std::promise<Reply::Maker>>();
    auto answered = made->get_future();
    handler(ctx, Reply([made](Reply::Maker make) { made->set_value(std::move(make)); }));
    return answered.get()();
  };
}

void Router::add(http::verb method, std::string pattern, AsyncHandler handler, RouteOptions options) {
  // The router itself must not block either: its token look-up (authenticated routes that do not
  // check their token themselves) is a database round trip.
  if (options.never_blocks && options.authenticated && !options.checks_token_itself)
    throw std::invalid_argument(pattern + ": a never_blocks route must check its token itself");
  if (options.never_blocks) {
    never_blocks_methods_.insert(method);
    if (method == http::verb::get) never_blocks_methods_.insert(http::verb::head);  // find() gives HEAD the GET route
  }
  auto blocking_form = blocking(handler);
  push(method, std::move(pattern), std::move(blocking_form), std::move(handler), options);
}

Router::Found Router::find(http::verb method, const std::vector<std::string_view>& segments) const {
  Found found;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < segments.size() && same; ++i) {
      const auto& want = route.segments[i];
      const bool capture = want.size() >= 2 && want.front() == '{' && want.back() == '}';
      same = capture ? !segments[i].empty() : segments[i] == want;
    }
    if (!same) continue;
    // RFC 9110 9.3.2: HEAD is GET without the content, and every GET route answers it (the
    // server sends the headers a GET would get, Content-Length included: finish_response).
    if (route.method == method || (method == http::verb::head && route.method == http::verb::get)) {
      found.route = &route;
      return found;
    }
    found.same_path = &route.pattern;
    const auto name = http::to_string(route.method);
    found.allowed.emplace_back(name.data(), name.size());
    if (route.method == http::verb::get) found.allowed.emplace_back("HEAD");
  }
  return found;
}

bool Router::never_blocks(const Request& request) const {
  // Every request of the server asks; most methods have no such route at all.
  if (!never_blocks_methods_.contains(request.method())) return false;
  const std::string_view target(request.target().data(), request.target().size());
  const auto found = find(request.method(), split_path(target.substr(0, target.find('?'))));
  return found.route != nullptr && found.route->options.never_blocks;
}

namespace {
// The token's user, from a sign-in call shared with the other requests of that token waiting now
// (api/task_reads.hpp): one look-up per call instead of a statement per request. The call starts
// after the request arrived, so a revoked token is refused at once. The handler thread waits, as it
// waited for its own look-up before; no connection is held meanwhile (the lane leases its own), so
// every worker waiting here cannot exhaust the pool.
Principal signed_in_user(TaskReads& sign_ins, std::string_view token) {
  // Shared with the answer: the promise must outlive set_value() on the lane's thread, which may
  // still be inside it when get() here returns.
  auto answered = std::make_shared<std::promise<Principal>>();
  auto user = answered->get_future();
  sign_ins.sign_in(token, [answered](std::exception_ptr error, std::optional<Principal> principal) {
    if (error)
      answered->set_exception(error);
    else
      answered->set_value(std::move(*principal));
  });
  return user.get();
}
}  // namespace

Response Router::dispatch(const Request& request, ApiServices& services, std::string* route_label) const {
  // Without a deliver every route answers here: asynchronous ones through their blocking() form.
  return *run(request, services, route_label, nullptr);
}

void Router::dispatch_async(const Request& request, ApiServices& services, std::string* route_label,
                            std::function<void(Reply::Maker)> deliver) const {
  auto now = run(request, services, route_label, &deliver);
  if (!now) return;
  deliver([made = std::make_shared<Response>(std::move(*now))] { return std::move(*made); });
}

Response Router::answer(const Request& request, const Reply::Maker& make) {
  try {
    return make();
  } catch (...) {
    return failure_response(request);
  }
}

std::optional<Response> Router::run(const Request& request, ApiServices& services, std::string* route_label,
                                    const std::function<void(Reply::Maker)>* deliver) const {
  // A route with an asynchronous handler answers through `deliver` when there is one.
  const auto call = [deliver](const Route& route, RequestContext& ctx) -> std::optional<Response> {
    if (deliver == nullptr || !route.async) return route.handler(ctx);
    route.async(ctx, Reply(*deliver));
    return std::nullopt;
  };
  // Metrics label unmatched requests by a constant: raw paths would be unbounded label values.
  if (route_label) *route_label = "(unmatched)";
  const std::string_view target(request.target().data(), request.target().size());
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  try {
    // RFC 3986: a request target is visible ASCII; other bytes are percent-encoded. Beast lets
    // bytes 0x80-0xFF through, and echoed into an error's JSON or stored with an idempotency key
    // (a text column) they are not UTF-8 — the key's INSERT failed and a retry ran the command again.
    if (std::any_of(target.begin(), target.end(), [](unsigned char c) { return c < 0x21 || c > 0x7e; }))
      throw DomainError(ErrorCode::validation_failed,
                        "the request target must be ASCII: percent-encode every other byte (RFC 3986)",
                        ErrorDetails{}.add("keyword", "syntax").add("parameter", "target").json());
    const auto segments = split_path(path);
    auto [match, same_path, allowed] = find(request.method(), segments);

    if (match == nullptr && allowed.empty()) {
      return error_response(DomainError(ErrorCode::not_found, fmt::format("no route for {}", path),
                                        ErrorDetails{}.add("path", std::string(path)).json()));
    }
    if (match == nullptr) {
      std::sort(allowed.begin(), allowed.end());
      allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
      const std::string allow = fmt::format("{}", fmt::join(allowed, ", "));
      if (route_label) *route_label = *same_path;
      auto response = error_response(
          DomainError(ErrorCode::method_not_allowed,
                      fmt::format("{} is not allowed on {}; allowed: {}",
                                  std::string_view(request.method_string().data(), request.method_string().size()),
                                  path, allow),
                      ErrorDetails{}.add("allow", allow).json()));
      response.set(http::field::allow, allow);
      return response;
    }

    if (route_label) *route_label = match->pattern;
    RequestContext ctx{request, services, match->pattern, {}, {}, std::nullopt};
    // The captures and the query are decoded after the token check: a request without a token, or
    // with one the database does not know, gets 401 rather than a 400 for its escapes. (A route that
    // checks its token itself gets them decoded before: there a malformed escape is 400 with any
    // token of our shape; the target's ASCII check above is 400 before any token check.)
    // (The route is captured by name: C++20 lets a lambda capture a structured binding, clang 14 not.)
    const auto decode = [&ctx, &query, &segments, route = match] {
      ctx.query = parse_query(query);
      for (std::size_t i = 0; i < segments.size(); ++i) {
        const auto& want = route->segments[i];
        if (want.front() == '{')
          ctx.params.push_back(percent_decode(segments[i], false, std::string_view(want).substr(1, want.size() - 2)));
      }
    };

    if (match->options.before_sign_in)
      if (auto refused = match->options.before_sign_in(request)) return std::move(*refused);
    if (match->options.authenticated) {
      const auto token = bearer_token(request);
      if (!token) throw DomainError(ErrorCode::unauthorized, "this route needs an Authorization: Bearer <token> header");
      if (match->options.checks_token_itself) {
        if (!token_shaped(*token)) throw DomainError(ErrorCode::unauthorized, kUnknownTokenMessage);
        ctx.bearer_token = *token;
        decode();
        return call(*match, ctx);
      }
      ctx.principal = signed_in_user(services.sign_ins, *token);
    }
    decode();
    return call(*match, ctx);
  } catch (...) {
    return failure_response(request);
  }
}

}  // namespace tasklog::api
