// The canonical byte encoding of an event and the hash chain over it.
//
// hash(n) = SHA-256(hash(n-1) || canonical_bytes(event n)); the first event chains from 32 zero
// bytes. canonical_bytes is, in order (integers big-endian, "str" = u32 byte length then bytes):
//
//   u8   format tag 0x01
//   i64  position
//   16   event_id            (RFC 4122 byte order)
//   16   stream_id
//   str  stream_type
//   i64  version
//   16   project_id
//   u8   0 = no task_id, 1 = task_id follows
//   16   task_id             (only when the flag is 1)
//   16   actor_id
//   str  type
//   i16  schema_version
//   str  payload            (canonical JSON, core/json.hpp)
//   str  metadata           (canonical JSON)
//   i64  recorded_at        (microseconds since 1970-01-01T00:00:00Z)
//
// Length prefixes make the encoding unambiguous (no two events share bytes), and canonical JSON
// makes it independent of how PostgreSQL's jsonb re-prints the payload, so `verify` can
// recompute every hash from the stored rows alone. Changing any of this changes every hash: add
// a new format tag instead.
#pragma once

#include "events/event.hpp"

#include <string>

namespace tasklog::events {

// Expects payload and metadata to be canonical already (append canonicalizes them); use
// canonicalized() on an event read back from the table.
std::string canonical_bytes(const RecordedEvent& e);

Sha256Digest chain_hash(const Sha256Digest& prev_hash, const RecordedEvent& e);

// A copy with payload and metadata in canonical JSON.
RecordedEvent canonicalized(RecordedEvent e);

inline constexpr Sha256Digest kGenesisHash{};  // 32 zero bytes

}  // namespace tasklog::events
