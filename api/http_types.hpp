// The HTTP vocabulary shared by the server, the router, the auth layer and the route handlers.
// Handlers are plain functions Request -> Response that run on a blocking worker thread (they may
// use a pooled database connection and TaskEngine::execute); the server owns sockets and strands.
#pragma once

#include "core/error.hpp"
#include "core/ids.hpp"

#include <boost/beast/http.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tasklog::api {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// The authenticated caller of a request.
struct Principal {
  Uuid user_id{};
  std::string name{};
  bool admin = false;
};

// Limits applied before a handler sees a request (defaults are the documented ones).
struct HttpLimits {
  std::size_t max_body_bytes = 1024 * 1024;  // 413 payload_too_large above this
  std::size_t max_header_bytes = 16 * 1024;  // 431/400 above this
  std::size_t max_page_size = 500;           // ?limit= above this is a 400 validation_failed
  std::size_t default_page_size = 100;
};

// Whether every byte is printable ASCII (0x20-0x7E).
inline bool is_printable_ascii(std::string_view text) {
  for (const unsigned char c : text)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// A request's text (a header value, a path) as an error message may show it: itself when it is
// printable ASCII, else a fixed stand-in — a raw byte above 0x7E would make the error's JSON body
// invalid UTF-8.
inline std::string_view shown(std::string_view text) { return is_printable_ascii(text) ? text : "(not printable ASCII)"; }

// A header value or list element without the optional white space around it (RFC 9110 5.6.3).
inline std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Decoded query string: ?a=1&b=x (percent-decoded; a repeated key keeps the last value).
using QueryParams = std::map<std::string, std::string, std::less<>>;

// A JSON response with the given status; `json` must already be serialized JSON text.
Response json_response(http::status status, std::string json, unsigned version = 11, bool keep_alive = true);

// The one error shape {"error":{"code","message","details"}} with the status that
// http_status(code) gives. Defined in api/error_mapping.cpp, the only place that maps codes.
Response error_response(const DomainError& error, unsigned version = 11, bool keep_alive = true);
http::status http_status(ErrorCode code);

}  // namespace tasklog::api
