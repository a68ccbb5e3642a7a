#include "core/json.hpp"

#include <charconv>
#include <cstdint>

#include "core/error.hpp"
#include "core/error_details.hpp"

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tasklog {
namespace {

// Numbers reach the handler as text (RawNumber), which converts them; see there.
constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseValidateEncodingFlag | rapidjson::kParseStopWhenDoneFlag;

// Forwards SAX events to the Document while enforcing the limits; returning false makes the
// reader stop with kParseErrorTermination, which we turn into a validation error.
class LimitingHandler {
 public:
  LimitingHandler(rapidjson::Document& doc, const JsonLimits& limits) : doc_(doc), limits_(limits) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  // Numbers arrive as their (validated) text and are converted here with std::from_chars, which
  // rounds correctly. RapidJSON 1.1's own full-precision conversion misreads some numbers, after
  // undefined behaviour inside it (found by tests/fuzz): a zero significand with an exponent
  // ("0e308" read as 1.949e289; clz of 0 in DiyFp::Normalize), and long significands with large
  // exponents (a read past its table of powers of ten). Integers stay integers when they fit.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    if (std::find_if(s, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      if (*s == '-') {
        std::int64_t i = 0;
        if (const auto [p, ec] = std::from_chars(s, end, i); ec == std::errc{} && p == end) return doc_.Int64(i);
      } else {
        std::uint64_t u = 0;
        if (const auto [p, ec] = std::from_chars(s, end, u); ec == std::errc{} && p == end) return doc_.Uint64(u);
      }
    }
    double d = 0;
    const auto [p, ec] = std::from_chars(s, end, d);
    if (ec != std::errc{} || p != end) {
      violation = fmt::format("the JSON number {} is out of range", std::string_view(s, std::min<std::size_t>(n, 40)));
      return false;
    }
    return doc_.Double(d);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return check_string(s, n) && doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return check_string(s, n) && doc_.Key(s, n, copy); }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { --depth_; return doc_.EndObject(n); }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { --depth_; return doc_.EndArray(n); }

  std::string violation;

 private:
  bool enter() {
    if (++depth_ > limits_.max_depth) {
      violation = fmt::format("JSON nesting deeper than {} levels", limits_.max_depth);
      return false;
    }
    return true;
  }
  bool check_string(const char* s, rapidjson::SizeType n) {
    if (n > limits_.max_string_bytes) {
      violation = fmt::format("a JSON string is longer than {} bytes", limits_.max_string_bytes);
      return false;
    }
    if (std::find(s, s + n, '\0') != s + n) {
      violation = "JSON strings may not contain U+0000";
      return false;
    }
    // kParseValidateEncodingFlag checks the input's bytes, not what its escapes decode to, and
    // RapidJSON 1.1 turns a lone low-surrogate escape ("\udc00") into that surrogate's bytes —
    // not UTF-8, so our own encoding of the value could not be read back and PostgreSQL would
    // refuse it later (found by tests/fuzz/command_decode_fuzz). Validate the decoded string.
    if (!is_utf8(std::string_view(s, n))) {
      violation = "a JSON string escapes a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair)";
      return false;
    }
    return true;
  }

  rapidjson::Document& doc_;
  const JsonLimits& limits_;
  std::size_t depth_ = 0;
};

void write_canonical(const rapidjson::Value& v, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  switch (v.GetType()) {
    case rapidjson::kNullType: w.Null(); return;
    case rapidjson::kFalseType: w.Bool(false); return;
    case rapidjson::kTrueType: w.Bool(true); return;
    case rapidjson::kStringType: w.String(v.GetString(), v.GetStringLength()); return;
    case rapidjson::kNumberType:
      if (v.IsUint64()) w.Uint64(v.GetUint64());
      else if (v.IsInt64()) w.Int64(v.GetInt64());
      else {
        const double d = v.GetDouble();
        // jsonb's numeric has no negative zero; write the value it will give back.
        w.Double(d == 0.0 ? 0.0 : d);
      }
      return;
    case rapidjson::kArrayType:
      w.StartArray();
      for (const auto& item : v.GetArray()) write_canonical(item, w);
      w.EndArray();
      return;
    case rapidjson::kObjectType: {
      // Sort member pointers by key bytes; stable, so among duplicates the last one is kept.
      std::vector<const rapidjson::Value::Member*> members;
      members.reserve(v.MemberCount());
      for (const auto& m : v.GetObject()) members.push_back(&m);
      auto key = [](const rapidjson::Value::Member* m) {
        return std::string_view(m->name.GetString(), m->name.GetStringLength());
      };
      std::stable_sort(members.begin(), members.end(), [&](auto* a, auto* b) { return key(a) < key(b); });
      w.StartObject();
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i + 1 < members.size() && key(members[i]) == key(members[i + 1])) continue;
        w.Key(members[i]->name.GetString(), members[i]->name.GetStringLength());
        write_canonical(members[i]->value, w);
      }
      w.EndObject();
      return;
    }
  }
}

}  // namespace

void parse_json(std::string_view text, rapidjson::Document& doc, const JsonLimits& limits) {
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(ms);
  LimitingHandler handler(doc, limits);
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document&) {
    rapidjson::Reader reader;
    result = reader.Parse<kParseFlags>(stream, handler);
    return !result.IsError();
  };
  doc.Populate(generate);
  if (!handler.violation.empty()) throw DomainError(ErrorCode::validation_failed, handler.violation);
  if (result.IsError())
    throw DomainError(ErrorCode::malformed_json,
                      fmt::format("malformed JSON at offset {}: {}", result.Offset(),
                                  rapidjson::GetParseError_En(result.Code())),
                      ErrorDetails().add("offset", static_cast<std::int64_t>(result.Offset())).json());
  // kParseStopWhenDoneFlag lets us see trailing garbage ourselves (white space is fine).
  for (std::size_t i = stream.Tell(); i < text.size(); ++i) {
    const char c = text[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
      throw DomainError(ErrorCode::malformed_json, fmt::format("malformed JSON at offset {}: trailing characters", i),
                        ErrorDetails().add("offset", static_cast<std::int64_t>(i)).json());
  }
}

std::string canonical_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  write_canonical(value, writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string canonical_json(std::string_view text) {
  rapidjson::Document doc;
  parse_json(text, doc, JsonLimits{.max_depth = 512, .max_string_bytes = std::size_t{1} << 30});
  return canonical_json(doc);
}

namespace {

// JSON Pointer escaping of one reference token (RFC 6901): ~ as ~0, / as ~1.
void append_token(std::string& pointer, std::string_view token) {
  pointer.push_back('/');
  for (const char c : token) {
    if (c == '~') pointer += "~0";
    else if (c == '/') pointer += "~1";
    else pointer.push_back(c);
  }
}

bool find_duplicate(const rapidjson::Value& v, std::string& pointer) {
  if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      const auto size = pointer.size();
      append_token(pointer, std::to_string(i));
      if (find_duplicate(v[i], pointer)) return true;
      pointer.resize(size);
    }
    return false;
  }
  if (!v.IsObject()) return false;
  std::vector<std::string_view> sorted;
  sorted.reserve(v.MemberCount());
  for (const auto& m : v.GetObject()) sorted.emplace_back(m.name.GetString(), m.name.GetStringLength());
  std::sort(sorted.begin(), sorted.end());
  if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end()) {
    append_token(pointer, *twice);
    return true;
  }
  for (const auto& m : v.GetObject()) {
    const auto size = pointer.size();
    append_token(pointer, std::string_view(m.name.GetString(), m.name.GetStringLength()));
    if (find_duplicate(m.value, pointer)) return true;
    pointer.resize(size);
  }
  return false;
}

}  // namespace

std::optional<std::string> first_duplicate_key(const rapidjson::Value& value) {
  std::string pointer;
  if (find_duplicate(value, pointer)) return pointer;
  return std::nullopt;
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

bool is_utf8(std::string_view bytes) {
  struct Discard {
    void Put(char) {}
  } discard;
  rapidjson::MemoryStream stream(bytes.data(), bytes.size());
  while (stream.Tell() < bytes.size())
    if (!rapidjson::UTF8<>::Validate(stream, discard)) return false;
  return true;
}

}  // namespace tasklog
