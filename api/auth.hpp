// Users, bearer tokens, and the per-request identity that row-level security sees.
//
// Users and tokens live in the `auth` schema (migrations/0003): they are credentials, not task
// state, so they are plain tables rather than events. A token is shown once, when created, as
// "tl_" + 43 url-safe characters of random bytes; only its SHA-256 (hex) is stored. Revoked or
// expired tokens do not authenticate.
//
// Thread-safety: free functions over the caller's connection/transaction.
#pragma once

#include "core/ids.hpp"
#include "core/time.hpp"
#include "api/http_types.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tasklog::api {

struct UserRecord {
  Uuid id{};
  std::string email{};
  std::string name{};
  bool admin = false;
  Timestamp created_at{};
};

struct TokenRecord {
  Uuid id{};
  Uuid user_id{};
  std::string name{};
  Timestamp created_at{};
  std::optional<Timestamp> expires_at{};
  std::optional<Timestamp> revoked_at{};
};

struct NewToken {
  TokenRecord record{};
  std::string secret{};  // the bearer token; never stored, shown once
};

// Creates a user (email unique, case-insensitive: DomainError validation_failed naming the email
// when taken) and a first token named "default". Its id is random unless given: a log imported
// into a new database names its members by the ids they had (`tasklog user create --id`), and a
// taken id is validation_failed too.
std::pair<UserRecord, NewToken> create_user(pqxx::connection& c, const std::string& email, const std::string& name,
                                            bool admin = false, std::optional<Uuid> id = std::nullopt);
NewToken create_token(pqxx::connection& c, const Uuid& user_id, const std::string& name,
                      std::optional<Timestamp> expires_at = {});
std::vector<TokenRecord> list_tokens(pqxx::connection& c, const Uuid& user_id);
// The token with this id (whichever user's), or nullopt. For `tasklog token revoke TOKEN_ID`.
std::optional<TokenRecord> find_token(pqxx::connection& c, const Uuid& token_id);
// Throws DomainError(not_found) for an unknown token id (or one of another user).
void revoke_token(pqxx::connection& c, const Uuid& user_id, const Uuid& token_id);
std::optional<UserRecord> find_user(pqxx::connection& c, const Uuid& user_id);
std::optional<UserRecord> find_user_by_email(pqxx::connection& c, const std::string& email);

// The user a bearer token belongs to; nullopt for an unknown, revoked or expired token.
std::optional<Principal> authenticate(pqxx::connection& c, std::string_view bearer_token);
// The same look-up by the token's hash (token_hash() of a token that token_shaped() accepted).
std::optional<Principal> authenticate_hash(pqxx::connection& c, const std::string& hash);

// Starts a transaction that runs as the row-level-security role `tasklog_query` with
// `tasklog.user_id` set to the user, so every read sees only the projects that user owns or is a
// member of, whatever the WHERE clause says. Set with SET LOCAL: nothing leaks to the next user of
// the pooled connection.
void begin_as_user(pqxx::transaction_base& tx, const Uuid& user_id);

// A read-only transaction as the user (begin_as_user's rules) in fewer round trips: BEGIN, the
// role and the user travel together (pqxx::read_transaction spends a round trip on BEGIN alone).
// Reads are the most frequent requests. Rolled back unless commit() is called.
class UserReadTransaction {
 public:
  UserReadTransaction(pqxx::connection& c, const Uuid& user_id);
  ~UserReadTransaction();
  UserReadTransaction(const UserReadTransaction&) = delete;
  UserReadTransaction& operator=(const UserReadTransaction&) = delete;

  pqxx::transaction_base& tx() { return tx_; }
  void commit();

 private:
  pqxx::nontransaction tx_;  // inside the explicit BEGIN above
  bool done_ = false;
};

// GET /v1/tasks/{id}'s read, for a route that checks its token itself (RouteOptions::
// checks_token_itself), of any number of tasks at once (api/task_reads.hpp gathers the requests of
// one token): the token is signed in and the tasks read as its user by ONE prepared statement,
// public.tasklog_read_tasks (migrations/0008: begin_as_user's rules, row-level security, read
// only, nothing outliving the statement on the pooled connection). The token is looked up on every
// call like authenticate(), so a revoked token stops at once. `hash` is token_hash() of a token
// that token_shaped() accepted. The rows' columns are api/task_json.hpp's kTaskColumns, one row per
// task the user may see, in no particular order; unknown ids and others' tasks have none.
// Throws DomainError(unauthorized, kUnknownTokenMessage) for an unknown, revoked or expired token.
pqxx::result read_tasks_signed_in(pqxx::connection& c, const std::string& hash, const std::vector<Uuid>& task_ids);

// What auth.api_tokens stores of a token: its SHA-256 in hex.
std::string token_hash(std::string_view bearer_token);

// Whether a bearer token has our tokens' shape ("tl_" + 43 characters); others never authenticate.
bool token_shaped(std::string_view bearer_token);

// The one refusal for a token that does not authenticate, whichever way it was checked.
inline constexpr const char* kUnknownTokenMessage = "the bearer token is unknown, revoked or expired";

// The caller's role in a project ("owner" | "member" | "viewer"), or nullopt when the project is
// unknown or not visible to the user. Runs under the caller's transaction (begin_as_user first).
std::optional<std::string> project_role(pqxx::transaction_base& tx, const Uuid& project_id);

// First start of `serve` on a database with no user: creates the admin user (admin@localhost) and
// returns its token; nullopt when a user already exists.
std::optional<NewToken> bootstrap_admin(pqxx::connection& c);

}  // namespace tasklog::api
