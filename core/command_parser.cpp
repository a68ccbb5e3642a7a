#include "core/command_parser.hpp"

#include "core/codec.hpp"
#include "core/error.hpp"
#include "core/schemas.hpp"

#include <optional>
#include <utility>

namespace tasklog {
namespace {

template <std::size_t... I>
Command read_command(std::string_view command_name, const rapidjson::Value& body, std::index_sequence<I...>) {
  std::optional<Command> command;
  ((std::variant_alternative_t<I, Command>::name == command_name
        ? (void)(command = from_json_value<std::variant_alternative_t<I, Command>>(body))
        : (void)0),
   ...);
  // validate_command already refused unknown names; reaching here means the two disagree.
  if (!command) throw DomainError(ErrorCode::internal, "command schema without a command type");
  return std::move(*command);
}

}  // namespace

Command parse_command(std::string_view command_name, const rapidjson::Value& body) {
  validate_command(command_name, body);
  return read_command(command_name, body, std::make_index_sequence<std::variant_size_v<Command>>{});
}

}  // namespace tasklog
