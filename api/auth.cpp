// Users and bearer tokens in the `auth` schema (migrations/0003_auth.sql), and the per-transaction
// identity that the row-level security policies read.
#include "api/auth.hpp"
#include "events/database.hpp"

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "projections/column_values.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/uuid/random_generator.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>

namespace tasklog::api {
namespace {

constexpr std::string_view kTokenPrefix = "tl_";
constexpr std::size_t kTokenRandomBytes = 32;  // 256 bits: 43 base64url characters without padding
constexpr std::size_t kTokenLength = kTokenPrefix.size() + 43;

Uuid random_uuid() {
  // random_generator seeds itself from the OS; one per thread because it is not thread-safe.
  thread_local boost::uuids::random_generator generator;
  return generator();
}

// base64url (RFC 4648 §5) without padding, from OpenSSL's standard base64.
std::string base64url(const unsigned char* bytes, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(written));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& ch : out) {
    if (ch == '+') ch = '-';
    else if (ch == '/') ch = '_';
  }
  return out;
}

std::string new_secret() {
  std::array<unsigned char, kTokenRandomBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed: no random bytes for a token");
  return std::string(kTokenPrefix) + base64url(bytes.data(), bytes.size());
}

// Timestamps cross the wire as microseconds since the epoch: exact, and independent of the
// session's TimeZone and DateStyle.
std::string micros_of(std::string_view column) {
  return "(extract(epoch FROM " + std::string(column) + ") * 1000000)::bigint";
}
std::string from_micros(int param) {
  return "'epoch'::timestamptz + $" + std::to_string(param) + " * interval '1 microsecond'";
}

Timestamp timestamp_of(const pqxx::field& f) { return Timestamp(std::chrono::microseconds(f.as<std::int64_t>())); }
std::optional<Timestamp> optional_timestamp_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return timestamp_of(f);
}

Uuid uuid_of(const pqxx::field& f) {
  const auto id = parse_uuid(f.c_str());
  if (!id) throw std::runtime_error(std::string("not a uuid from the database: ") + f.c_str());
  return *id;
}

const std::string kUserColumns = "id, email, name, admin, " + micros_of("created_at");
const std::string kTokenColumns =
    "id, user_id, name, " + micros_of("created_at") + ", " + micros_of("expires_at") + ", " + micros_of("revoked_at");

UserRecord user_of(const pqxx::row& r) {
  return UserRecord{.id = uuid_of(r[0]),
                    .email = r[1].as<std::string>(),
                    .name = r[2].as<std::string>(),
                    .admin = r[3].as<bool>(),
                    .created_at = timestamp_of(r[4])};
}

TokenRecord token_of(const pqxx::row& r) {
  return TokenRecord{.id = uuid_of(r[0]),
                     .user_id = uuid_of(r[1]),
                     .name = r[2].as<std::string>(),
                     .created_at = timestamp_of(r[3]),
                     .expires_at = optional_timestamp_of(r[4]),
                     .revoked_at = optional_timestamp_of(r[5])};
}

NewToken insert_token(pqxx::transaction_base& tx, const Uuid& user_id, const std::string& name,
                      std::optional<Timestamp> expires_at) {
  std::string secret = new_secret();
  const std::string sql = "INSERT INTO auth.api_tokens (id, user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4, " +
                          from_micros(5) + ") RETURNING " + kTokenColumns;
  const std::string id = to_string(random_uuid()), user = to_string(user_id), hash = token_hash(secret);
  // libpqxx 6 has no null for an empty std::optional parameter: pass nullptr for "never expires".
  const pqxx::row row = expires_at ? tx.exec_params1(sql, id, user, name, hash, expires_at->time_since_epoch().count())
                                   : tx.exec_params1(sql, id, user, name, hash, nullptr);
  return NewToken{.record = token_of(row), .secret = std::move(secret)};
}

// An email as typed, without the white space around it (a shell's quotes keep it).
std::string trimmed_email(std::string_view email) {
  const auto first = email.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return std::string(email.substr(first, email.find_last_not_of(" \t\r\n") - first + 1));
}

UserRecord insert_user(pqxx::transaction_base& tx, const std::string& email, const std::string& name, bool admin,
                       const std::optional<Uuid>& id) {
  try {
    return user_of(tx.exec_params1("INSERT INTO auth.users (id, email, name, admin) VALUES ($1, $2, $3, $4) RETURNING " +
                                       kUserColumns,
                                   to_string(id ? *id : random_uuid()), email, name, admin));
  } catch (const pqxx::unique_violation& e) {
    // lower(email), or the primary key: an id given that is taken. (Random ids do not clash.)
    // libpqxx 6 names the constraint only in the message.
    if (id && std::string_view(e.what()).find("users_pkey") != std::string_view::npos)
      throw DomainError(ErrorCode::validation_failed, "a user with id " + to_string(*id) + " already exists",
                        "{\"field\":\"id\"}");
    throw DomainError(ErrorCode::validation_failed, "a user with email " + email + " already exists",
                      "{\"field\":\"email\"}");
  }
}

}  // namespace

std::string token_hash(std::string_view bearer_token) { return to_hex(sha256(bearer_token)); }

std::pair<UserRecord, NewToken> create_user(pqxx::connection& c, const std::string& given_email, const std::string& name,
                                            bool admin, std::optional<Uuid> id) {
  const std::string email = trimmed_email(given_email);
  if (email.empty()) throw DomainError(ErrorCode::validation_failed, "a user needs an email", "{\"field\":\"email\"}");
  // Not a full address check (RFC 5322 allows nearly anything): what a person typing one gets
  // wrong. A space inside, or no '@' between two parts, was stored as given and found by nobody.
  const auto at = email.find('@');
  if (at == 0 || at == std::string::npos || at + 1 == email.size() ||
      std::any_of(email.begin(), email.end(), [](unsigned char ch) { return ch <= 0x20 || ch == 0x7f; }))
    throw DomainError(ErrorCode::validation_failed, "an email looks like name@host, without spaces: " + email,
                      "{\"field\":\"email\"}");
  pqxx::work tx(c, "create user");
  UserRecord user = insert_user(tx, email, name, admin, id);
  NewToken token = insert_token(tx, user.id, "default", std::nullopt);
  tx.commit();
  return {std::move(user), std::move(token)};
}

NewToken create_token(pqxx::connection& c, const Uuid& user_id, const std::string& name,
                      std::optional<Timestamp> expires_at) {
  pqxx::work tx(c, "create token");
  try {
    NewToken token = insert_token(tx, user_id, name, expires_at);
    tx.commit();
    return token;
  } catch (const pqxx::foreign_key_violation&) {
    throw DomainError(ErrorCode::not_found, "no user " + to_string(user_id));
  }
}

std::vector<TokenRecord> list_tokens(pqxx::connection& c, const Uuid& user_id) {
  pqxx::read_transaction tx(c, "list tokens");
  std::vector<TokenRecord> tokens;
  for (const auto& row : tx.exec_params("SELECT " + kTokenColumns +
                                            " FROM auth.api_tokens WHERE user_id = $1 ORDER BY created_at, id",
                                        to_string(user_id)))
    tokens.push_back(token_of(row));
  return tokens;
}

std::optional<TokenRecord> find_token(pqxx::connection& c, const Uuid& token_id) {
  pqxx::read_transaction tx(c, "find token");
  const auto rows = tx.exec_params("SELECT " + kTokenColumns + " FROM auth.api_tokens WHERE id = $1", to_string(token_id));
  if (rows.empty()) return std::nullopt;
  return token_of(rows[0]);
}

void revoke_token(pqxx::connection& c, const Uuid& user_id, const Uuid& token_id) {
  pqxx::work tx(c, "revoke token");
  // Revoking twice keeps the first time: when it stopped working is what an audit wants.
  const auto rows = tx.exec_params(
      "UPDATE auth.api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND user_id = $2 RETURNING id",
      to_string(token_id), to_string(user_id));
  if (rows.empty()) throw DomainError(ErrorCode::not_found, "no token " + to_string(token_id));
  tx.commit();
}

std::optional<UserRecord> find_user(pqxx::connection& c, const Uuid& user_id) {
  pqxx::read_transaction tx(c, "find user");
  const auto rows = tx.exec_params("SELECT " + kUserColumns + " FROM auth.users WHERE id = $1", to_string(user_id));
  if (rows.empty()) return std::nullopt;
  return user_of(rows[0]);
}

std::optional<UserRecord> find_user_by_email(pqxx::connection& c, const std::string& email) {
  pqxx::read_transaction tx(c, "find user by email");
  // lower(email) is the unique index's expression, so this is an index lookup.
  const auto rows = tx.exec_params("SELECT " + kUserColumns + " FROM auth.users WHERE lower(email) = lower($1)",
                                   trimmed_email(email));
  if (rows.empty()) return std::nullopt;
  return user_of(rows[0]);
}

bool token_shaped(std::string_view bearer_token) {
  return bearer_token.size() == kTokenLength && bearer_token.substr(0, kTokenPrefix.size()) == kTokenPrefix;
}

std::optional<Principal> authenticate(pqxx::connection& c, std::string_view bearer_token) {
  // Anything not shaped like one of our tokens cannot match: no need to ask the database.
  if (!token_shaped(bearer_token)) return std::nullopt;
  return authenticate_hash(c, token_hash(bearer_token));
}

std::optional<Principal> authenticate_hash(pqxx::connection& c, const std::string& hash) {
  // One statement in autocommit: a single round trip (a read_transaction would add a BEGIN and a
  // COMMIT). Asked every time rather than cached, so that a revoked token stops at once; the server
  // shares one call among the requests of a token waiting together (api/task_reads.hpp sign_in).
  pqxx::nontransaction tx(c, "authenticate");
  const auto rows = events::exec_cached(tx,
      "SELECT u.id, u.name, u.admin FROM auth.api_tokens t JOIN auth.users u ON u.id = t.user_id "
      "WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())",
      hash);
  if (rows.empty()) return std::nullopt;
  return Principal{.user_id = uuid_of(rows[0][0]), .name = rows[0][1].as<std::string>(), .admin = rows[0][2].as<bool>()};
}

namespace {
// Both are transaction-local: at COMMIT or ROLLBACK the connection is back to its own role and to
// no user, whoever uses it next. One round trip; the user id is a formatted UUID (hex and dashes),
// so it needs no escaping as a literal.
std::string as_user_sql(const Uuid& user_id) {
  return "SET LOCAL ROLE tasklog_query; SELECT set_config('tasklog.user_id', '" + to_string(user_id) + "', true)";
}
}  // namespace

void begin_as_user(pqxx::transaction_base& tx, const Uuid& user_id) { tx.exec(as_user_sql(user_id)); }

pqxx::result read_tasks_signed_in(pqxx::connection& c, const std::string& hash, const std::vector<Uuid>& task_ids) {
  // Autocommit: the statement is its own transaction, so the function's SET LOCALs end with it.
  pqxx::nontransaction tx(c, "read as user");
  try {
    return events::exec_cached(tx, "SELECT * FROM public.tasklog_read_tasks($1, $2)", hash, events::uuid_array(task_ids));
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "TL401") throw DomainError(ErrorCode::unauthorized, kUnknownTokenMessage);
    throw;
  }
}

UserReadTransaction::UserReadTransaction(pqxx::connection& c, const Uuid& user_id) : tx_(c, "read as user") {
  tx_.exec("BEGIN READ ONLY; " + as_user_sql(user_id));
}

UserReadTransaction::~UserReadTransaction() {
  if (done_) return;
  try {
    tx_.exec("ROLLBACK");
  } catch (const std::exception&) {
    // The connection is broken; the pool discards it when the lease ends.
  }
}

void UserReadTransaction::commit() {
  tx_.exec("COMMIT");
  done_ = true;
}

std::optional<std::string> project_role(pqxx::transaction_base& tx, const Uuid& project_id) {
  const auto rows = events::exec_cached(tx,
      "SELECT role FROM readmodel.project_members "
      "WHERE project_id = $1 AND user_id = nullif(current_setting('tasklog.user_id', true), '')::uuid",
      to_string(project_id));
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

std::optional<NewToken> bootstrap_admin(pqxx::connection& c) {
  pqxx::work tx(c, "bootstrap admin");
  // Two servers starting together on an empty database: the second waits here and then sees the
  // first one's admin (SHARE ROW EXCLUSIVE conflicts with itself, not with readers).
  tx.exec0("LOCK TABLE auth.users IN SHARE ROW EXCLUSIVE MODE");
  if (!tx.exec("SELECT 1 FROM auth.users LIMIT 1").empty()) return std::nullopt;
  const UserRecord admin = insert_user(tx, "admin@localhost", "admin", true, std::nullopt);
  NewToken token = insert_token(tx, admin.id, "bootstrap", std::nullopt);
  tx.commit();
  return token;
}

}  // namespace tasklog::api
