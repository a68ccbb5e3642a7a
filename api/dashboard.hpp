// The dashboard (GET /): a plain HTML/CSS/JS page compiled into the binary (api/dashboard/*,
// embedded by api/embed_dashboard.cmake). The files hold no data and need no token; the page
// signs in with a bearer token and reads everything through the REST API and /v1/stream.
//
// Routes: GET / (index.html) and GET /dashboard/{file}; an unknown file is 404 not_found. Every
// answer carries an entity tag (If-None-Match -> 304), Cache-Control: no-cache (revalidate, so a
// new binary's files are picked up at once) and strict security headers: a Content-Security-Policy
// that allows only this origin's files and WebSockets (no inline script, no CDN), nosniff,
// no framing, no referrer.
#pragma once

#include "api/router.hpp"

#include <string_view>
#include <vector>

namespace tasklog::api {

struct DashboardFile {
  std::string_view name;   // e.g. "app.js"
  std::string_view bytes;  // the file exactly as it is in api/dashboard/
  std::string_view etag;   // quoted: "\"<32 hex of its SHA-256>\""
};

// Generated at build time (embedded_dashboard.cpp); sorted by name.
std::vector<DashboardFile> embedded_dashboard_files();

// The Content-Type of a dashboard file, by its extension.
std::string_view dashboard_content_type(std::string_view name);

// The URL `serve` prints: the page with the token in the fragment, which browsers never send to
// the server (so it is in no access log); the page moves it to sessionStorage and drops it from
// the address bar. Without a token, the page's own address.
std::string dashboard_url(std::string_view base_url, std::string_view token);

// Registers GET / and GET /dashboard/{file}.
void add_dashboard_routes(Router& router);

}  // namespace tasklog::api
