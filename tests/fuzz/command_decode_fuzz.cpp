// libFuzzer target: JSON command decoding, as every command route and MCP tool call does it.
//
// Input: the command's name on the first line, then the JSON body, e.g.
//   create_task
//   {"project_id":"00000000-0000-4000-8000-000000000001","title":"t"}
// The body goes through core/json.hpp's parse_json (with its limits), then parse_command: the
// command's JSON Schema (core/schemas.hpp), then its field table (core/codec.hpp).
//
// Invariants: no crash, leak or undefined behaviour; a refusal is a DomainError with a stable code
// (malformed_json or validation_failed for the body, not_found for an unknown name) and details
// that are a JSON object; a decoded command, encoded again with the same field table, decodes to
// an equal command, and encodes to the same text a second time (the codec round-trips).
#include "core/codec.hpp"
#include "core/command_parser.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "tests/fuzz/fuzz_checks.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {

using namespace tasklog;

void check_refusal(const DomainError& e, std::string_view input, std::initializer_list<ErrorCode> allowed) {
  bool ok = false;
  for (const auto code : allowed) ok = ok || e.code() == code;
  if (!ok) fuzz::fail(fmt::format("unexpected error code {}: {}", code_name(e.code()), e.what()), input);
  rapidjson::Document details;
  details.Parse(e.details_json().data(), e.details_json().size());
  if (details.HasParseError() || !details.IsObject()) fuzz::fail("error details that are not a JSON object: " + e.details_json(), input);
}

std::string encode(const Command& command) {
  rapidjson::Document doc;
  std::visit([&](const auto& c) { field_codec::write(c, doc, doc.GetAllocator()); }, command);
  return to_json(doc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view name = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

  rapidjson::Document doc;
  try {
    parse_json(body, doc);
  } catch (const DomainError& e) {
    check_refusal(e, input, {ErrorCode::malformed_json, ErrorCode::validation_failed});
    return 0;
  }

  std::optional<Command> command;
  try {
    command = parse_command(name, doc);
  } catch (const DomainError& e) {
    check_refusal(e, input, {ErrorCode::validation_failed, ErrorCode::not_found});
    return 0;
  }

  const std::string encoded = encode(*command);
  rapidjson::Document again_doc;
  std::optional<Command> again;
  try {
    parse_json(encoded, again_doc);
    again = parse_command(name, again_doc);
  } catch (const DomainError& e) {
    fuzz::fail(fmt::format("a decoded command's own encoding is refused: {} {}", e.what(), e.details_json()),
               fmt::format("{}\n--- encoded:\n{}", input, encoded));
  }
  if (!(*again == *command)) fuzz::fail("the command changed in a round trip", fmt::format("{}\n--- encoded:\n{}", input, encoded));
  if (encode(*again) != encoded)
    fuzz::fail("the encoding changed in a round trip", fmt::format("{}\n--- encoded:\n{}\n--- again:\n{}", input, encoded, encode(*again)));
  return 0;
}
