// The one place where a domain ErrorCode becomes an HTTP status and the one error body shape
// {"error":{"code","message","details"}}. JSON-RPC and WebSocket mappings build on the same codes.
//
// Choices worth knowing:
//  - validation_failed is 422 (the input is JSON but breaks the command's schema or rules), except
//    when its details say "keyword":"type" (a value of the wrong JSON type, as the schema validator
//    reports it), "keyword":"syntax" (a query parameter or path segment that does not parse) or
//    "keyword":"range" (a query parameter beyond what exists, e.g. ?at= after the log's head):
//    those are 400, as the issue asks for malformed input "or wrong types (with the JSON path)".
//    malformed_json (not JSON at all) is 400.
//  - gate_failed is 409: the request is well-formed, the task's current state (missing artifacts,
//    unmet criteria) refuses it, and the same request succeeds once that state changes — the
//    meaning of 409 Conflict, like illegal_transition and task_not_ready.
//  - payload_too_large is 413, or 431 when its details say "part":"headers" (header fields over
//    the limit: RFC 6585's status for exactly that).
//  - unauthorized carries WWW-Authenticate: Bearer; unavailable carries Retry-After.
#include "api/http_types.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace tasklog::api {
namespace {

// The details object of an error, or an empty object when the text is not one (details come from
// our own code, but a broken one must not turn an error response into a crash or invalid JSON).
void parse_details(const std::string& text, rapidjson::Document& doc) {
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) doc.SetObject();
}

bool details_member_is(const rapidjson::Document& details, const char* key, std::string_view value) {
  const auto it = details.FindMember(key);
  return it != details.MemberEnd() && it->value.IsString() &&
         std::string_view(it->value.GetString(), it->value.GetStringLength()) == value;
}

http::status status_for(ErrorCode code, const rapidjson::Document& details) {
  if (code == ErrorCode::validation_failed &&
      (details_member_is(details, "keyword", "type") || details_member_is(details, "keyword", "syntax") ||
       details_member_is(details, "keyword", "range"))) {
    return http::status::bad_request;
  }
  if (code == ErrorCode::payload_too_large && details_member_is(details, "part", "headers")) {
    return http::status::request_header_fields_too_large;
  }
  return http_status(code);
}

}  // namespace

http::status http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::validation_failed: return http::status::unprocessable_entity;
    case ErrorCode::malformed_json: return http::status::bad_request;
    case ErrorCode::not_found: return http::status::not_found;
    case ErrorCode::illegal_transition:
    case ErrorCode::task_not_ready:
    case ErrorCode::lease_lost:
    case ErrorCode::gate_failed:
    case ErrorCode::dependency_cycle:
    case ErrorCode::version_conflict: return http::status::conflict;
    case ErrorCode::idempotency_conflict: return http::status::unprocessable_entity;
    case ErrorCode::unauthorized: return http::status::unauthorized;
    case ErrorCode::forbidden: return http::status::forbidden;
    case ErrorCode::payload_too_large: return http::status::payload_too_large;
    case ErrorCode::unsupported_media_type: return http::status::unsupported_media_type;
    case ErrorCode::method_not_allowed: return http::status::method_not_allowed;
    case ErrorCode::unavailable: return http::status::service_unavailable;
    case ErrorCode::internal: return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

Response json_response(http::status status, std::string json, unsigned version, bool keep_alive) {
  Response response{status, version};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = std::move(json);
  response.prepare_payload();
  return response;
}

Response error_response(const DomainError& error, unsigned version, bool keep_alive) {
  rapidjson::Document details;
  parse_details(error.details_json(), details);

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  const std::string_view code = code_name(error.code());
  const std::string_view message = error.what();
  writer.StartObject();
  writer.Key("error");
  writer.StartObject();
  writer.Key("code");
  writer.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  writer.Key("message");
  writer.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  writer.Key("details");
  details.Accept(writer);
  writer.EndObject();
  writer.EndObject();

  Response response = json_response(status_for(error.code(), details),
                                    std::string(buffer.GetString(), buffer.GetSize()), version, keep_alive);
  if (error.code() == ErrorCode::unauthorized) response.set(http::field::www_authenticate, "Bearer realm=\"tasklog\"");
  // The pool retries a connection on every request, so a client may come back soon.
  if (error.code() == ErrorCode::unavailable) response.set(http::field::retry_after, "1");
  return response;
}

}  // namespace tasklog::api
