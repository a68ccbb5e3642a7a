// MCP protocol versions and JSON-RPC message builders (see the header).
#include "api/mcp_protocol.hpp"

#include "core/json.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace tasklog::api::mcp {

const std::vector<std::string_view>& classic_versions() {
  static const std::vector<std::string_view> versions{"2025-03-26", "2025-06-18", "2025-11-25"};
  return versions;
}

bool is_classic_version(std::string_view version) {
  const auto& all = classic_versions();
  return std::find(all.begin(), all.end(), version) != all.end();
}

std::string_view negotiate_version(std::string_view requested) {
  return is_classic_version(requested) ? requested : classic_versions().back();
}

bool allows_batches(std::string_view version) { return version == "2025-03-26"; }

std::string result_message(std::string_view id_json, const rapidjson::Value& result) {
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out += id_json;
  out += R"(,"result":)";
  out += to_json(result);
  out += '}';
  return out;
}

std::string error_message(std::string_view id_json, const RpcError& error) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("jsonrpc");
  w.String("2.0");
  w.Key("id");
  w.RawValue(id_json.data(), id_json.size(), rapidjson::kNumberType);
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.Int(error.code());
  w.Key("message");
  w.String(error.what());
  if (!error.data_json().empty()) {
    w.Key("data");
    w.RawValue(error.data_json().data(), error.data_json().size(), rapidjson::kObjectType);
  }
  w.EndObject();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

const rapidjson::Value* string_member(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsString() ? &it->value : nullptr;
}

std::string_view as_view(const rapidjson::Value& string_value) {
  return {string_value.GetString(), string_value.GetStringLength()};
}

}  // namespace tasklog::api::mcp
