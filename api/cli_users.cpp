// `tasklog user create` and `tasklog token create|list|revoke`: the operator's way to hand out and
// withdraw bearer tokens (api/auth.hpp). A token's secret is printed once, when it is made.
#include "api/cli.hpp"

#include "api/auth.hpp"
#include "core/error.hpp"
#include "events/migrator.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <chrono>
#include <memory>
#include <stdexcept>

namespace tasklog::api {
namespace {

// Exit status when the user or token named on the command line does not exist.
constexpr int kNotFound = 2;

// Users and tokens live in tables a migration creates: say so instead of "relation does not exist".
void require_migrated(const std::string& conninfo) {
  const auto migrations = events::embedded_migrations();
  if (!events::Migrator(conninfo).is_current(migrations))
    throw std::runtime_error("the database is not migrated to this version of tasklog: run `tasklog migrate` first");
}

void print_secret_warning() {
  fmt::print(stderr, "keep the token now: it is stored only as a hash and cannot be shown again\n");
}

std::string optional_time(const std::optional<Timestamp>& t) { return t ? format_timestamp(*t) : "-"; }

struct UserCreateOptions {
  DatabaseOptions database;
  std::string email;
  std::string name;
  bool admin = false;
  std::string id;  // empty: a random one
};

int create_user_command(const UserCreateOptions& options, const std::string& conninfo) {
  std::optional<Uuid> id;
  if (!options.id.empty()) {
    id = parse_uuid(options.id);
    if (!id) throw std::invalid_argument("--id must be a UUID, e.g. a member's user_id in the imported log");
  }
  require_migrated(conninfo);
  pqxx::connection c(conninfo);
  const auto [user, token] = create_user(c, options.email, options.name, options.admin, id);
  fmt::print("user_id: {}\nemail: {}\ntoken_id: {}\ntoken: {}\n", to_string(user.id), user.email,
             to_string(token.record.id), token.secret);
  print_secret_warning();
  return 0;
}

struct TokenCreateOptions {
  DatabaseOptions database;
  std::string email;
  std::string name = "cli";
  std::optional<int> expires_in_days;
};

// The user named by --email, or nullopt after saying so on stderr.
std::optional<UserRecord> user_named(pqxx::connection& c, const std::string& email) {
  auto user = find_user_by_email(c, email);
  if (!user) fmt::print(stderr, "no user with email {}\n", email);
  return user;
}

int create_token_command(const TokenCreateOptions& options, const std::string& conninfo) {
  require_migrated(conninfo);
  pqxx::connection c(conninfo);
  const auto user = user_named(c, options.email);
  if (!user) return kNotFound;
  std::optional<Timestamp> expires_at;
  if (options.expires_in_days) {
    // The operator's clock decides "in D days"; the database compares with its own now() later,
    // which is what makes an expired token stop working.
    expires_at = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()) +
                 std::chrono::days(*options.expires_in_days);
  }
  const NewToken token = create_token(c, user->id, options.name, expires_at);
  fmt::print("token_id: {}\nexpires: {}\ntoken: {}\n", to_string(token.record.id),
             optional_time(token.record.expires_at), token.secret);
  print_secret_warning();
  return 0;
}

struct TokenListOptions {
  DatabaseOptions database;
  std::string email;
};

int list_tokens_command(const TokenListOptions& options, const std::string& conninfo) {
  require_migrated(conninfo);
  pqxx::connection c(conninfo);
  const auto user = user_named(c, options.email);
  if (!user) return kNotFound;
  // Tab-separated with a header: readable, and easy for scripts (cut -f1).
  fmt::print("id\tname\tcreated\texpires\trevoked\n");
  for (const auto& token : list_tokens(c, user->id))
    fmt::print("{}\t{}\t{}\t{}\t{}\n", to_string(token.id), token.name, format_timestamp(token.created_at),
               optional_time(token.expires_at), optional_time(token.revoked_at));
  return 0;
}

struct TokenRevokeOptions {
  DatabaseOptions database;
  std::string token_id;
};

int revoke_token_command(const TokenRevokeOptions& options, const std::string& conninfo) {
  const auto id = parse_uuid(options.token_id);
  if (!id) throw std::invalid_argument("not a token id: " + options.token_id);
  require_migrated(conninfo);
  pqxx::connection c(conninfo);
  const auto token = find_token(c, *id);
  if (!token) {
    fmt::print(stderr, "no token {}\n", options.token_id);
    return kNotFound;
  }
  revoke_token(c, token->user_id, token->id);
  fmt::print("revoked {}\n", options.token_id);
  return 0;
}

// Adds `name` under `parent` with the database options, running `run(options, conninfo)`.
template <class Options, class Run>
CLI::App* add_database_subcommand(CLI::App& parent, const std::string& name, const std::string& description,
                                  std::shared_ptr<Options> options, int& exit_code, Run run) {
  auto* command = parent.add_subcommand(name, description);
  add_database_options(*command, options->database);
  command->callback([options, &exit_code, run] {
    with_database(options->database, [&](const std::string& conninfo) { exit_code = run(*options, conninfo); });
  });
  return command;
}

}  // namespace

void add_user_command(CLI::App& app, int& exit_code) {
  auto* user = app.add_subcommand("user", "Manage users (who may call the API)");
  user->require_subcommand(1);

  auto create = std::make_shared<UserCreateOptions>();
  auto* command = add_database_subcommand(*user, "create", "Create a user and print its first bearer token (shown once)",
                                          create, exit_code, create_user_command);
  command->add_option("--email", create->email, "the user's email (unique, case-insensitive)")->required();
  command->add_option("--name", create->name, "the user's display name")->required();
  command->add_flag("--admin", create->admin, "make the user an administrator");
  command->add_option("--id", create->id,
                      "the user's id (a UUID; random when left out): after `tasklog import`, the id the log's "
                      "memberships name, so that the user is a member again");
}

void add_token_command(CLI::App& app, int& exit_code) {
  auto* token = app.add_subcommand("token", "Manage bearer tokens");
  token->require_subcommand(1);

  auto create = std::make_shared<TokenCreateOptions>();
  auto* create_command = add_database_subcommand(*token, "create", "Create a bearer token for a user (shown once)",
                                                 create, exit_code, create_token_command);
  create_command->add_option("--email", create->email, "the user's email")->required();
  create_command->add_option("--name", create->name, "what the token is for")->capture_default_str();
  // At most a thousand years: more would overflow the expiry's microseconds (and means "never":
  // leave the option out).
  create_command->add_option("--expires-in-days", create->expires_in_days, "the token stops working after D days")
      ->check(CLI::Range(1, 365000));

  auto list = std::make_shared<TokenListOptions>();
  auto* list_command = add_database_subcommand(*token, "list", "List a user's tokens (never their secrets)", list,
                                               exit_code, list_tokens_command);
  list_command->add_option("--email", list->email, "the user's email")->required();

  auto revoke = std::make_shared<TokenRevokeOptions>();
  auto* revoke_command = add_database_subcommand(*token, "revoke", "Revoke a token: it no longer authenticates",
                                                 revoke, exit_code, revoke_token_command);
  revoke_command->add_option("token_id", revoke->token_id, "the token's id (from `token list`)")->required();
}

}  // namespace tasklog::api
