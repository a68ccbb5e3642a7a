// SHA-256 through OpenSSL's EVP interface: the hash chain, token hashes and migration checksums.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tasklog {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Incremental hasher; not thread-safe, one per computation.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(std::span<const std::uint8_t> bytes);
  Sha256& update(std::string_view bytes);
  Sha256Digest finish();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL headers stay out of ours
};

Sha256Digest sha256(std::string_view bytes);
std::string to_hex(std::span<const std::uint8_t> bytes);
// Parses 64 hex digits (either case); nullopt on anything else.
std::optional<Sha256Digest> digest_from_hex(std::string_view hex);

}  // namespace tasklog
