#include "tests/support/explain.hpp"

#include <rapidjson/document.h>

#include <stdexcept>
#include <string_view>

namespace tasklog::testing {
namespace {

void add_events_read(const rapidjson::Value& plan, EventsRead& read) {
  if (plan.HasMember("Relation Name") && std::string_view(plan["Relation Name"].GetString()) == "events") {
    read.rows += plan["Actual Rows"].GetInt64() * plan["Actual Loops"].GetInt64();
    if (plan.HasMember("Rows Removed by Filter")) read.rows += plan["Rows Removed by Filter"].GetInt64();
    read.blocks += plan["Shared Hit Blocks"].GetInt64() + plan["Shared Read Blocks"].GetInt64();
  }
  if (plan.HasMember("Plans"))
    for (const auto& child : plan["Plans"].GetArray()) add_events_read(child, read);
}

}  // namespace

EventsRead explain_events_read(pqxx::transaction_base& tx, const std::string& statement, std::string& plan) {
  plan = tx.exec1("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement)[0].c_str();
  rapidjson::Document doc;
  doc.Parse(plan.c_str());
  if (doc.HasParseError() || !doc.IsArray() || doc.Empty()) throw std::runtime_error("EXPLAIN answered no plan");
  EventsRead read;
  add_events_read(doc[0]["Plan"], read);
  return read;
}

}  // namespace tasklog::testing
