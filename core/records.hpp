// The read-model rows that events create rather than change: artifacts, checkpoints, decisions
// and task messages. Each carries what its table holds, times included.
#pragma once

#include "core/enum_names.hpp"
#include "core/fields.hpp"
#include "core/ids.hpp"
#include "core/task.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tasklog {

// Inline artifact content larger than this is refused: big outputs belong behind `ref`.
inline constexpr std::size_t kMaxArtifactContentBytes = 256 * 1024;
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;

struct ArtifactRow {
  Uuid id{};
  Uuid project_id{};
  Uuid task_id{};
  ArtifactType type = ArtifactType::other;
  std::string ref{};  // where it lives: a URL, a path, a commit
  std::string summary{};
  std::optional<std::string> content{};
  std::int64_t content_bytes = 0;
  Uuid created_by{};
  Timestamp created_at{};
  std::int64_t position = 0;  // of the event that appended it

  bool operator==(const ArtifactRow&) const = default;
};

// One task's status when a checkpoint was taken.
struct TaskStatusSnapshot {
  Uuid task_id{};
  TaskStatus status = TaskStatus::todo;

  static constexpr auto fields() {
    return std::tuple{req("task_id", &TaskStatusSnapshot::task_id), req("status", &TaskStatusSnapshot::status)};
  }
  bool operator==(const TaskStatusSnapshot&) const = default;
};

struct CheckpointRow {
  Uuid id{};
  Uuid project_id{};
  std::optional<Uuid> task_id{};
  std::string label{};
  std::string summary{};
  std::string repo_ref{};
  std::string resume_instructions{};
  std::int64_t log_position = 0;  // the log's head when the checkpoint was decided
  std::vector<TaskStatusSnapshot> tasks{};
  Uuid created_by{};
  Timestamp created_at{};
  std::int64_t position = 0;  // of the CheckpointCreated event itself

  bool operator==(const CheckpointRow&) const = default;
};

struct DecisionRow {
  Uuid id{};
  Uuid project_id{};
  std::optional<Uuid> task_id{};
  std::string title{};
  std::vector<std::string> options{};
  std::string choice{};
  std::string rationale{};
  std::optional<Uuid> supersedes{};
  std::optional<Uuid> superseded_by{};
  std::optional<Timestamp> superseded_at{};
  Uuid created_by{};
  Timestamp created_at{};
  std::int64_t position = 0;

  bool operator==(const DecisionRow&) const = default;
};

enum class MessageRole { user, assistant, system, tool };

template <>
struct EnumNames<MessageRole> {
  static constexpr std::string_view schema_type = "message_role";
  static constexpr std::pair<MessageRole, std::string_view> values[] = {
      {MessageRole::user, "user"},
      {MessageRole::assistant, "assistant"},
      {MessageRole::system, "system"},
      {MessageRole::tool, "tool"}};
};

struct MessageRow {
  Uuid id{};
  Uuid project_id{};
  Uuid task_id{};
  MessageRole role = MessageRole::user;
  std::string content{};
  Uuid created_by{};
  Timestamp created_at{};
  std::int64_t position = 0;

  bool operator==(const MessageRow&) const = default;
};

}  // namespace tasklog
