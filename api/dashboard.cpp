// The dashboard's static files: looked up by name in the embedded table, answered with their
// entity tag and the security headers of api/dashboard.hpp.
#include "api/dashboard.hpp"

#include "core/error_details.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace tasklog::api {
namespace {

// Only this origin's files; data only from this origin's API and WebSocket stream. No inline
// script or style, no plugins, no framing, no <base> tricks, forms post nowhere else.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'";

const std::vector<DashboardFile>& files() {
  static const std::vector<DashboardFile> table = embedded_dashboard_files();
  return table;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// If-None-Match holds `etag` (a list of tags, or "*"): the client's copy is current.
bool not_modified(const Request& request, std::string_view etag) {
  const auto it = request.find(http::field::if_none_match);
  if (it == request.end()) return false;
  const std::string_view value(it->value().data(), it->value().size());
  return value.find(etag) != std::string_view::npos || value == "*";
}

Response serve_file(const RequestContext& ctx, std::string_view name) {
  const auto& table = files();
  const auto it = std::find_if(table.begin(), table.end(), [&](const DashboardFile& f) { return f.name == name; });
  if (it == table.end()) {
    throw DomainError(ErrorCode::not_found, fmt::format("the dashboard has no file '{}'", name),
                      ErrorDetails{}.add("file", std::string(name)).json());
  }
  const bool unchanged = not_modified(ctx.request, it->etag);
  Response response{unchanged ? http::status::not_modified : http::status::ok, ctx.request.version()};
  response.set(http::field::etag, std::string(it->etag));
  response.set(http::field::cache_control, "no-cache");
  response.set("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  if (!unchanged) {
    response.set(http::field::content_type, std::string(dashboard_content_type(it->name)));
    response.body() = std::string(it->bytes);
  }
  response.prepare_payload();
  return response;
}

}  // namespace

std::string_view dashboard_content_type(std::string_view name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".svg")) return "image/svg+xml";
  if (ends_with(name, ".png")) return "image/png";
  return "application/octet-stream";
}

std::string dashboard_url(std::string_view base_url, std::string_view token) {
  std::string url(base_url);
  if (url.empty() || url.back() != '/') url += '/';
  // Tokens are URL-safe (tl_ and base64url); nothing to escape in a fragment.
  if (!token.empty()) url += fmt::format("#token={}", token);
  return url;
}

void add_dashboard_routes(Router& router) {
  const RouteOptions open{.authenticated = false};  // the files hold no data
  router.add(http::verb::get, "/", [](RequestContext& ctx) { return serve_file(ctx, "index.html"); }, open);
  router.add(
      http::verb::get, "/dashboard/{file}", [](RequestContext& ctx) { return serve_file(ctx, ctx.params[0]); }, open);
}

}  // namespace tasklog::api
