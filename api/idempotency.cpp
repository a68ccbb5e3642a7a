// Idempotency-Key: check -> run -> store under a per-(user, key) advisory lock (see the header).
#include "api/idempotency.hpp"
#include "events/database.hpp"

#include "api/route_support.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"
#include "core/sha256.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

namespace tasklog::api {
namespace {

// The two-int4 advisory lock key space is apart from the one-bigint keys of the append and
// migration locks; this class number ("tlik") keeps it apart from anyone else's two-int4 locks.
constexpr int kLockClass = 0x746c696b;
constexpr std::size_t kMaxKeyBytes = 255;
constexpr std::size_t kIdempotencyPoolSize = 8;

// One small pool per database: holders of the lock wait for request connections, never the
// other way round, so the two pools cannot deadlock each other.
DbPool& idempotency_pool(const std::string& conninfo) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<DbPool>> pools;
  std::lock_guard lock(mutex);
  auto& pool = pools[conninfo];
  if (!pool) pool = std::make_unique<DbPool>(conninfo, kIdempotencyPoolSize, std::chrono::seconds(30));
  return *pool;
}

std::string request_hash(const Request& request) {
  std::string body;
  try {
    rapidjson::Document doc;
    parse_json(request.body(), doc);
    body = canonical_json(doc);
  } catch (const DomainError&) {
    body = request.body();  // not JSON: the handler refuses it; the bytes still identify it
  }
  std::string text = fmt::format("{}\n{}\n{}", std::string(request.method_string()),
                                 std::string(request.target()), body);
  // A PATCH's If-Match is part of what it asks (the version it expects). Added only when present,
  // so the hashes of requests without it — every key stored before PATCH was keyed — stay as they were.
  // As the version it names: If-Match: 3 and If-Match: "3" ask the same (a retry that switches form
  // is the same request); a value the route refuses counts as sent.
  if (const auto it = request.find(http::field::if_match); it != request.end()) {
    const std::string_view sent(it->value().data(), it->value().size());
    std::string version;
    try {
      const auto parsed = parse_if_match(sent);
      version = parsed ? std::to_string(*parsed) : "*";
    } catch (const DomainError&) {
      version = sent;
    }
    text += fmt::format("\nIf-Match: {}", version);
  }
  return to_hex(sha256(text));
}

Response replayed(int status, const std::string& body) {
  Response response;
  if (body.empty()) {
    response.result(static_cast<http::status>(status));
    response.prepare_payload();
  } else {
    response = json_response(static_cast<http::status>(status), body);
    // A command's answer carried ETag: "<version>" — the body's own top-level version — and a
    // client that takes its next If-Match from a retried PATCH must find it on the replay too.
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (status < 300 && !doc.HasParseError() && doc.IsObject())
      if (const auto v = doc.FindMember("version"); v != doc.MemberEnd() && v->value.IsInt64())
        response.set(http::field::etag, fmt::format("\"{}\"", v->value.GetInt64()));
  }
  response.set("Idempotent-Replayed", "true");
  return response;
}

bool has_key(const RequestContext& ctx) { return ctx.request.find("Idempotency-Key") != ctx.request.end(); }

Response run_idempotent(RequestContext& ctx, const Handler& handler) {
  const auto header = ctx.request.find("Idempotency-Key");
  if (header == ctx.request.end()) return handler(ctx);
  const std::string key(header->value());
  if (key.empty() || key.size() > kMaxKeyBytes ||
      std::any_of(key.begin(), key.end(), [](unsigned char c) { return c < 0x21 || c > 0x7e; }))
    bad_parameter("Idempotency-Key", fmt::format("Idempotency-Key must be 1 to {} visible ASCII characters", kMaxKeyBytes));

  const std::string user = to_string(ctx.user().user_id);
  const std::string hash = request_hash(ctx.request);
  auto connection = idempotency_pool(ctx.services.pool.conninfo()).acquire();
  pqxx::work tx(*connection);
  events::exec_cached(tx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", kLockClass, user + ":" + key);
  const auto stored = events::exec_cached(tx,
      "SELECT request_hash, status, response_body FROM auth.idempotency_keys "
      "WHERE user_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'",
      user, key);
  if (!stored.empty()) {
    if (stored[0][0].as<std::string>() != hash)
      throw DomainError(ErrorCode::idempotency_conflict, "this Idempotency-Key was used with another request",
                        ErrorDetails().add("idempotency_key", key).json());
    return replayed(stored[0][1].as<int>(), stored[0][2].as<std::string>());
  }

  Response response;
  try {
    response = handler(ctx);
  } catch (const DomainError& e) {
    if (e.code() == ErrorCode::unavailable || e.code() == ErrorCode::internal) throw;
    response = error_response(e);
  }
  if (response.result_int() >= 500) return response;
  try {
    events::exec_cached(tx,
        "INSERT INTO auth.idempotency_keys (user_id, key, method, target, request_hash, status, response_body) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (user_id, key) DO UPDATE SET method = EXCLUDED.method, target = EXCLUDED.target, "
        "request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response_body = EXCLUDED.response_body, "
        "created_at = now()",
        user, key, std::string(ctx.request.method_string()), std::string(ctx.request.target()), hash,
        static_cast<int>(response.result_int()), response.body());
    // Old keys go as new ones come: a bounded sweep keeps the table at about a day of keys.
    tx.exec(
        "DELETE FROM auth.idempotency_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM auth.idempotency_keys "
        "WHERE created_at < now() - interval '24 hours' LIMIT 100 FOR UPDATE SKIP LOCKED))");
    tx.commit();
  } catch (const std::exception& e) {
    // The command itself has committed: its answer is still the truth, only a retry would not
    // be recognised. Say so in the log rather than turn a success into an error.
    spdlog::warn("idempotency key {} of user {} not stored: {}", key, user, e.what());
  }
  return response;
}

}  // namespace

Handler with_idempotency(Handler handler) {
  return [handler = std::move(handler)](RequestContext& ctx) { return run_idempotent(ctx, handler); };
}

AsyncHandler with_idempotency(AsyncHandler handler) {
  return [handler, waited = blocking(handler)](RequestContext& ctx, Reply reply) {
    if (!has_key(ctx)) return handler(ctx, std::move(reply));
    auto response = std::make_shared<Response>(run_idempotent(ctx, waited));
    reply.answer([response] { return std::move(*response); });
  };
}

}  // namespace tasklog::api
