// The one mapping from domain error codes to HTTP statuses and the one error body shape.
#include "api/http_types.hpp"
#include "core/error_details.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace tasklog::api {
namespace {

TEST(ErrorMappingTest, EveryCodeHasItsStatus) {
  const std::vector<std::pair<ErrorCode, unsigned>> expected{
      {ErrorCode::validation_failed, 422},  {ErrorCode::malformed_json, 400},       {ErrorCode::not_found, 404},
      {ErrorCode::illegal_transition, 409}, {ErrorCode::task_not_ready, 409},       {ErrorCode::lease_lost, 409},
      {ErrorCode::gate_failed, 409},        {ErrorCode::dependency_cycle, 409},     {ErrorCode::version_conflict, 409},
      {ErrorCode::idempotency_conflict, 422}, {ErrorCode::unauthorized, 401},       {ErrorCode::forbidden, 403},
      {ErrorCode::payload_too_large, 413},  {ErrorCode::unsupported_media_type, 415},
      {ErrorCode::method_not_allowed, 405}, {ErrorCode::unavailable, 503},          {ErrorCode::internal, 500},
  };
  for (const auto& [code, status] : expected) {
    EXPECT_EQ(static_cast<unsigned>(http_status(code)), status) << code_name(code);
    EXPECT_EQ(error_response(DomainError(code, "m")).result_int(), status) << code_name(code);
  }
}

TEST(ErrorMappingTest, TheBodyIsTheOneErrorShape) {
  const auto response = error_response(DomainError(ErrorCode::version_conflict, "stream moved on \"x\"",
                                                   ErrorDetails{}.add("current_version", std::int64_t{7}).json()));
  EXPECT_EQ(response.result_int(), 409);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  rapidjson::Document doc;
  doc.Parse(response.body().c_str());
  ASSERT_FALSE(doc.HasParseError()) << response.body();
  EXPECT_STREQ(doc["error"]["code"].GetString(), "version_conflict");
  EXPECT_STREQ(doc["error"]["message"].GetString(), "stream moved on \"x\"");
  EXPECT_EQ(doc["error"]["details"]["current_version"].GetInt(), 7);

  // Details that are not a JSON object do not break the response.
  const auto broken = error_response(DomainError(ErrorCode::internal, "oops", "not json"));
  EXPECT_EQ(broken.body(), R"({"error":{"code":"internal","message":"oops","details":{}}})");
}

TEST(ErrorMappingTest, WrongTypesAndUnparsableParametersAre400SchemaViolations422) {
  const auto type = error_response(DomainError(ErrorCode::validation_failed, "m",
                                               ErrorDetails{}.add("keyword", "type").add("path", "/title").json()));
  EXPECT_EQ(type.result_int(), 400);
  const auto syntax = error_response(DomainError(ErrorCode::validation_failed, "m", ErrorDetails{}.add("keyword", "syntax").json()));
  EXPECT_EQ(syntax.result_int(), 400);
  const auto required = error_response(DomainError(ErrorCode::validation_failed, "m", ErrorDetails{}.add("keyword", "required").json()));
  EXPECT_EQ(required.result_int(), 422);
}

TEST(ErrorMappingTest, HeadersOverTheLimitAre431) {
  const auto headers = error_response(DomainError(ErrorCode::payload_too_large, "m", ErrorDetails{}.add("part", "headers").json()));
  EXPECT_EQ(headers.result_int(), 431);
}

TEST(ErrorMappingTest, UnauthorizedAndUnavailableCarryTheirHeaders) {
  EXPECT_EQ(error_response(DomainError(ErrorCode::unauthorized, "m"))[http::field::www_authenticate],
            "Bearer realm=\"tasklog\"");
  EXPECT_EQ(error_response(DomainError(ErrorCode::unavailable, "m"))[http::field::retry_after], "1");
}

}  // namespace
}  // namespace tasklog::api
