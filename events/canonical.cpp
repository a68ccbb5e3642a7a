#include "events/canonical.hpp"

#include "core/json.hpp"

#include <fmt/format.h>

namespace tasklog::events {
namespace {

class ByteWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void i16(std::int16_t v) { be(static_cast<std::uint16_t>(v), 2); }
  void i64(std::int64_t v) { be(static_cast<std::uint64_t>(v), 8); }
  void uuid(const Uuid& id) { out_.append(reinterpret_cast<const char*>(id.data), 16); }
  void str(std::string_view s) {
    be(static_cast<std::uint32_t>(s.size()), 4);
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  void be(std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

}  // namespace

std::string canonical_bytes(const RecordedEvent& e) {
  ByteWriter w;
  w.u8(0x01);
  w.i64(e.position);
  w.uuid(e.event_id);
  w.uuid(e.stream_id);
  w.str(e.stream_type);
  w.i64(e.version);
  w.uuid(e.project_id);
  w.u8(e.task_id ? 1 : 0);
  if (e.task_id) w.uuid(*e.task_id);
  w.uuid(e.actor_id);
  w.str(e.type);
  w.i16(e.schema_version);
  w.str(e.payload);
  w.str(e.metadata);
  w.i64(e.recorded_at.time_since_epoch().count());
  return w.take();
}

Sha256Digest chain_hash(const Sha256Digest& prev_hash, const RecordedEvent& e) {
  Sha256 h;
  h.update(std::span<const std::uint8_t>(prev_hash));
  h.update(canonical_bytes(e));
  return h.finish();
}

RecordedEvent canonicalized(RecordedEvent e) {
  e.payload = canonical_json(e.payload);
  e.metadata = canonical_json(e.metadata);
  return e;
}

VersionConflict::VersionConflict(const Uuid& stream_id, ExpectedVersion expected, std::int64_t current)
    : DomainError(ErrorCode::version_conflict,
                  fmt::format("stream {} is at version {}, expected {}", to_string(stream_id), current,
                              expected.kind == ExpectedVersion::Kind::no_stream ? std::string("no stream")
                                                                                : std::to_string(expected.version)),
                  fmt::format(R"({{"stream_id":"{}","current_version":{}}})", to_string(stream_id), current)),
      stream_id_(stream_id),
      current_(current) {}

}  // namespace tasklog::events
