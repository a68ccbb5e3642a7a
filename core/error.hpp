// The one domain error type. Every refusal anywhere in tasklog is an ErrorCode (stable, machine
// readable, never renamed) plus a message a person understands and optional JSON details.
// The mapping to HTTP statuses, JSON-RPC codes and WebSocket close reasons lives in ONE place
// in api/ (see api/error_mapping); nothing below api/ knows about transports.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace tasklog {

enum class ErrorCode {
  validation_failed,     // input does not match the command's schema or rules
  malformed_json,        // the body is not JSON at all
  not_found,             // unknown id, or an id the caller may not see
  illegal_transition,    // the task's status does not allow this command
  task_not_ready,        // claim of a task with open dependencies, a retry not yet due, or a live lease
  lease_lost,            // stale or unknown lease token (fencing)
  gate_failed,           // completion refused by a project gate
  dependency_cycle,      // the dependency would close a cycle
  version_conflict,      // expected version does not match the stream's current version
  idempotency_conflict,  // an event id / idempotency key reused with a different request
  unauthorized,          // missing, unknown, revoked or expired credentials
  forbidden,             // authenticated but the role does not allow the action (e.g. viewer writes)
  payload_too_large,
  unsupported_media_type,
  method_not_allowed,
  unavailable,           // the database cannot be reached right now; retry later
  internal,              // a bug: never the caller's fault
};

std::string_view code_name(ErrorCode code);

class DomainError : public std::runtime_error {
 public:
  // details_json must be a JSON object's text; "{}" when there is nothing to add.
  DomainError(ErrorCode code, std::string message, std::string details_json = "{}")
      : std::runtime_error(std::move(message)), code_(code), details_json_(std::move(details_json)) {}

  ErrorCode code() const noexcept { return code_; }
  const std::string& details_json() const noexcept { return details_json_; }

 private:
  ErrorCode code_;
  std::string details_json_;
};

}  // namespace tasklog
