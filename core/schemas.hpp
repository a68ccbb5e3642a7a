// One JSON Schema (draft-04, what RapidJSON's validator speaks) per command: the single source
// for input validation here and for the MCP tool input schemas the api publishes. Kept small,
// with short descriptions, since agents read them.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

namespace tasklog {

// Every command name, in the order of the Command variant.
const std::vector<std::string_view>& command_names();

// The command's schema (its top-level "description" says what the command does).
// Throws DomainError(not_found) for an unknown command name.
const rapidjson::Value& command_schema(std::string_view command_name);
std::string command_schema_json(std::string_view command_name);
std::string_view command_description(std::string_view command_name);

// Throws DomainError(validation_failed) on the first violation, with details
// {"command", "path" (JSON pointer of the offending value; for a missing or unknown member, the
// member's own path), "keyword" (the failed schema keyword), "schema_path"}.
void validate_command(std::string_view command_name, const rapidjson::Value& body);

// The same check against a schema of the caller's (an MCP read tool's input schema), named in the
// message by `name` and in the details by {kind: name}. `schema` must outlive the program's
// threads: each thread compiles it once and keeps it, keyed by its address.
void validate_input(std::string_view kind, std::string_view name, const rapidjson::Value& schema,
                    const rapidjson::Value& body);

}  // namespace tasklog
