// Builds the details JSON of a DomainError from domain values, so refusals never hand-write
// JSON text (and never get the quoting wrong).
#pragma once

#include "core/field_codec.hpp"
#include "core/json.hpp"

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace tasklog {

class ErrorDetails {
 public:
  ErrorDetails() { doc_.SetObject(); }

  // Any value the codec can write: strings, numbers, Uuid, Timestamp, enums, vectors, rows' parts.
  template <class T>
  ErrorDetails& add(std::string_view key, const T& value) {
    rapidjson::Value v;
    field_codec::write(value, v, doc_.GetAllocator());
    doc_.AddMember(rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), doc_.GetAllocator()), v,
                   doc_.GetAllocator());
    return *this;
  }
  ErrorDetails& add(std::string_view key, std::string_view text) { return add(key, std::string(text)); }
  ErrorDetails& add(std::string_view key, const char* text) { return add(key, std::string(text)); }

  std::string json() const { return to_json(doc_); }

 private:
  rapidjson::Document doc_;
};

}  // namespace tasklog
