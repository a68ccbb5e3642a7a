// JSON input -> Command: validated against the command's schema, then read through the
// command's field table.
#pragma once

#include "core/commands.hpp"

#include <rapidjson/document.h>

#include <string_view>

namespace tasklog {

// Throws DomainError: not_found for an unknown command name, validation_failed (with the JSON
// pointer path and the failed keyword) for input that does not match its schema.
Command parse_command(std::string_view command_name, const rapidjson::Value& body);

}  // namespace tasklog
