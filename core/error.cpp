#include "core/error.hpp"

namespace tasklog {

std::string_view code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::validation_failed: return "validation_failed";
    case ErrorCode::malformed_json: return "malformed_json";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::illegal_transition: return "illegal_transition";
    case ErrorCode::task_not_ready: return "task_not_ready";
    case ErrorCode::lease_lost: return "lease_lost";
    case ErrorCode::gate_failed: return "gate_failed";
    case ErrorCode::dependency_cycle: return "dependency_cycle";
    case ErrorCode::version_conflict: return "version_conflict";
    case ErrorCode::idempotency_conflict: return "idempotency_conflict";
    case ErrorCode::unauthorized: return "unauthorized";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::payload_too_large: return "payload_too_large";
    case ErrorCode::unsupported_media_type: return "unsupported_media_type";
    case ErrorCode::method_not_allowed: return "method_not_allowed";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

}  // namespace tasklog
