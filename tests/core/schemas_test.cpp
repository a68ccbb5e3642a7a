#include "core/codec.hpp"
#include "core/command_parser.hpp"
#include "core/schemas.hpp"

#include "core/json.hpp"
#include "domain_world.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

using namespace tasklog;
using namespace tasklog::testing;

namespace {

rapidjson::Document json(std::string_view text) {
  rapidjson::Document doc;
  parse_json(text, doc);
  return doc;
}

const std::string kTask = to_string(named_id("task"));
const std::string kProject = to_string(named_id("project"));

DomainError invalid(std::string_view command, std::string_view body) {
  const auto doc = json(body);
  return refusal([&] { parse_command(command, doc); });
}

template <class C>
void expect_schema_matches_fields() {
  SCOPED_TRACE(std::string(C::name));
  const rapidjson::Value& schema = command_schema(C::name);
  std::set<std::string> properties, required, fields, required_fields;
  for (const auto& m : schema["properties"].GetObject()) properties.insert(m.name.GetString());
  for (const auto& r : schema["required"].GetArray()) required.insert(r.GetString());
  for_each_field<C>([&](const auto& f) {
    fields.emplace(f.name);
    using M = std::decay_t<decltype(std::declval<C>().*(f.member))>;
    if (f.required && !field_codec::IsOptional<M>::value) required_fields.emplace(f.name);
  });
  EXPECT_EQ(properties, fields);
  EXPECT_EQ(required, required_fields);
  EXPECT_FALSE(schema["additionalProperties"].GetBool());
}

template <std::size_t... I>
void expect_all_schemas_match(std::index_sequence<I...>) {
  (expect_schema_matches_fields<std::variant_alternative_t<I, Command>>(), ...);
}

// Every "type" in a published schema must be one draft-04 knows: no placeholder may leak.
void expect_plain_types(const rapidjson::Value& v, std::set<std::string>& seen) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (std::string_view(m.name.GetString()) == "type" && m.value.IsString()) seen.insert(m.value.GetString());
      expect_plain_types(m.value, seen);
    }
  } else if (v.IsArray()) {
    for (const auto& item : v.GetArray()) expect_plain_types(item, seen);
  }
}

}  // namespace

TEST(Schemas, OnePerCommandWithADescription) {
  ASSERT_EQ(command_names().size(), std::variant_size_v<Command>);
  EXPECT_EQ(command_names().front(), "create_project");
  for (std::string_view name : command_names()) {
    SCOPED_TRACE(std::string(name));
    EXPECT_FALSE(command_description(name).empty());
    EXPECT_EQ(std::string_view(command_schema(name)["type"].GetString()), "object");
  }
}

TEST(Schemas, PropertiesAndRequiredMatchTheCommandFields) {
  expect_all_schemas_match(std::make_index_sequence<std::variant_size_v<Command>>{});
}

TEST(Schemas, PublishedSchemasArePlainDraft04) {
  std::set<std::string> types;
  for (std::string_view name : command_names()) expect_plain_types(command_schema(name), types);
  const std::set<std::string> draft04{"object", "array", "string", "integer", "number", "boolean", "null"};
  for (const std::string& t : types) EXPECT_TRUE(draft04.contains(t)) << t;
  const std::string claim = command_schema_json("claim_task");
  EXPECT_NE(claim.find(R"("pattern":"^[0-9a-fA-F]{8}-)"), std::string::npos);
  const std::string create = command_schema_json("create_task");
  EXPECT_NE(create.find(R"("enum":["low","medium","high","critical"])"), std::string::npos);
}

// Found by tests/fuzz (command_decode_fuzz; corpus file crash-gate-without-name): a gate without a
// name is encoded with "name":"" (the field's empty value), which the schema refused with
// minLength 1, so the rules a project read returns could not be sent back in update_project.
TEST(Schemas, RulesAsTheCodecWritesThemAreValidInput) {
  const auto doc = json(R"({"name":"p","rules":{"gates":[{"kind":"acceptance_met"},{"kind":"custom","name":"lint"}]}})");
  const Command command = parse_command("create_project", doc);
  const auto& rules = std::get<CreateProject>(command).rules;
  const auto encoded = json(R"({"project_id":")" + kProject + R"(","rules":)" + to_json_text(rules) + "}");
  const Command update = parse_command("update_project", encoded);
  // Sent whole, the rules patch the project's rules into themselves.
  const auto& patch = std::get<UpdateProject>(update).rules;
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ(patch->applied_to(ProjectRules{}), rules);
  EXPECT_EQ(patch->applied_to(rules), rules);
}

TEST(Schemas, UnknownCommandIsNotFound) {
  const DomainError e = invalid("teleport_task", "{}");
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_EQ(str(details(e)["command"]), "teleport_task");
}

TEST(Schemas, MissingMemberNamesItsOwnPath) {
  const DomainError e = invalid("create_task", R"({"project_id":")" + kProject + R"("})");
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  EXPECT_EQ(str(details(e)["path"]), "/title");
  EXPECT_EQ(str(details(e)["keyword"]), "required");
  EXPECT_EQ(std::string(e.what()), "invalid create_task input: /title is required");
}

TEST(Schemas, UnknownMemberNamesItsOwnPath) {
  const DomainError e = invalid("cancel_task", R"({"task_id":")" + kTask + R"(","bogus":1})");
  EXPECT_EQ(str(details(e)["path"]), "/bogus");
  EXPECT_EQ(str(details(e)["keyword"]), "additionalProperties");
}

TEST(Schemas, WrongTypeAndRange) {
  DomainError e = invalid("claim_task", R"({"task_id":")" + kTask + R"(","agent":"a","lease_seconds":"long"})");
  EXPECT_EQ(str(details(e)["path"]), "/lease_seconds");
  EXPECT_EQ(str(details(e)["keyword"]), "type");
  e = invalid("claim_task", R"({"task_id":")" + kTask + R"(","agent":"a","lease_seconds":1})");
  EXPECT_EQ(str(details(e)["path"]), "/lease_seconds");
  EXPECT_EQ(str(details(e)["keyword"]), "minimum");
  EXPECT_EQ(std::string(e.what()), "invalid claim_task input: /lease_seconds must be at least 5");
}

TEST(Schemas, BadUuidIsNamed) {
  const DomainError e = invalid("heartbeat", R"({"task_id":"not-a-uuid","lease_token":")" + kTask + R"("})");
  EXPECT_EQ(str(details(e)["path"]), "/task_id");
  EXPECT_EQ(str(details(e)["keyword"]), "pattern");
  EXPECT_EQ(std::string(e.what()), "invalid heartbeat input: /task_id must be a UUID");
}

// A completion names each result artifact once (it stored [X, X] as its result).
TEST(Schemas, ACompletionNamesEachArtifactOnce) {
  const std::string artifact = "7f0c2a6e-8d4b-4f6a-9c1e-2b3d4e5f6a7b";
  const DomainError e = invalid("complete_task", R"({"task_id":")" + kTask + R"(","lease_token":")" + kTask +
                                                     R"(","summary":"s","artifact_ids":[")" + artifact + R"(",")" +
                                                     artifact + R"("]})");
  EXPECT_EQ(str(details(e)["path"]), "/artifact_ids/1");  // the repeat
  EXPECT_EQ(std::string(e.what()), "invalid complete_task input: /artifact_ids/1 repeats an earlier item (each may appear once)");
  EXPECT_EQ(str(details(e)["keyword"]), "uniqueItems");
}

TEST(Schemas, NestedPathsInsideArraysAndObjects) {
  DomainError e = invalid("create_project", R"({"name":"p","rules":{"gates":[{"kind":"has_docs"},{"kind":"vibes"}]}})");
  EXPECT_EQ(str(details(e)["path"]), "/rules/gates/1/kind");
  EXPECT_EQ(str(details(e)["keyword"]), "enum");
  EXPECT_NE(std::string(e.what()).find("must be one of: has_artifacts, has_tests"), std::string::npos);

  e = invalid("create_task", R"({"project_id":")" + kProject + R"(","title":"t","acceptance_criteria":["ok",""]})");
  EXPECT_EQ(str(details(e)["path"]), "/acceptance_criteria/1");
  EXPECT_EQ(str(details(e)["keyword"]), "minLength");

  e = invalid("record_git_info", R"({"task_id":")" + kTask + R"(","git":{}})");
  EXPECT_EQ(str(details(e)["path"]), "/git");
  EXPECT_EQ(str(details(e)["keyword"]), "minProperties");
}

TEST(Schemas, BodyMustBeAnObject) {
  const DomainError e = invalid("cancel_task", "[1,2]");
  EXPECT_EQ(str(details(e)["path"]), "");
  EXPECT_EQ(str(details(e)["keyword"]), "type");
}

TEST(ParseCommand, FillsDefaultsForOmittedMembers) {
  const auto doc = json(R"({"project_id":")" + kProject + R"(","title":"Write docs"})");
  const Command c = parse_command("create_task", doc);
  const auto& t = std::get<CreateTask>(c);
  EXPECT_EQ(t.project_id, named_id("project"));
  EXPECT_EQ(t.title, "Write docs");
  EXPECT_EQ(t.type, "task");
  EXPECT_EQ(t.priority, Priority::medium);
  EXPECT_TRUE(t.dependencies.empty());
  EXPECT_EQ(t.parent_task_id, std::nullopt);
  EXPECT_EQ(command_name(c), "create_task");
}

TEST(ParseCommand, ReadsNestedRulesAndEnums) {
  const auto doc = json(R"({"name":"p","rules":{"gates":[{"kind":"has_artifacts","min_count":2},
      {"kind":"custom","name":"lint"}],"scope":{"forbidden":["secrets/**"]},"max_attempts":4}})");
  const auto c = std::get<CreateProject>(parse_command("create_project", doc));
  EXPECT_EQ(c.project_name, "p");
  ASSERT_EQ(c.rules.gates.size(), 2u);
  EXPECT_EQ(c.rules.gates[0], (Gate{GateKind::has_artifacts, 2, ""}));
  EXPECT_EQ(c.rules.gates[1], (Gate{GateKind::custom, 1, "lint"}));
  EXPECT_EQ(c.rules.scope.forbidden, std::vector<std::string>{"secrets/**"});
  EXPECT_EQ(c.rules.max_attempts, 4);
  EXPECT_EQ(c.rules.default_lease_seconds, kDefaultLeaseSeconds);
}

TEST(ParseCommand, ReadsOptionalTokensAndStrategies) {
  const auto doc = json(R"({"project_id":")" + kProject + R"(","agent":"a1","strategy":"dependencies"})");
  const auto c = std::get<PickNextTask>(parse_command("pick_next_task", doc));
  EXPECT_EQ(c.strategy, PickStrategy::dependencies);
  EXPECT_EQ(c.lease_seconds, std::nullopt);

  const auto doc2 = json(R"({"task_id":")" + kTask + R"(","reason":"r","lease_token":")" + kProject + R"("})");
  const auto b = std::get<BlockTask>(parse_command("block_task", doc2));
  EXPECT_EQ(b.lease_token, named_id("project"));
  EXPECT_FALSE(b.needs_human);
}

// RapidJSON keeps a "pattern" regex's match state inside the compiled schema: validators on
// several threads must not share one. Every thread here validates UUID-bearing commands at once;
// with a shared schema, valid UUIDs were intermittently refused (and bad ones accepted).
TEST(Schemas, ValidationIsSafeFromManyThreadsAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto good = json(R"({"task_id":")" + to_string(named_id("task " + std::to_string(t))) +
                             R"(","lease_token":")" + to_string(named_id("lease")) + R"("})");
      const auto bad = json(R"({"task_id":"not-a-uuid-)" + std::to_string(t) + R"("})");
      for (int i = 0; i < kRounds; ++i) {
        try {
          validate_command("heartbeat", good);
        } catch (const DomainError&) {
          wrong++;
        }
        try {
          validate_command("heartbeat", bad);
          wrong++;
        } catch (const DomainError&) {
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}
