// The WebSocket session of GET /v1/stream: subscriptions, catch-up (ring or table), live events,
// heartbeats, and the bounded outgoing queue.
//
// Every member of a session is touched only on its strand. A subscription follows a cursor (the
// last position it has looked at) in one of two modes:
//   table: a worker checks the caller's access and, when the cursor is older than the ring, reads
//          the next events from the table as the user (row-level security applies); the page
//          waits in the session's bounded queue;
//   ring:  live. The ring is the subscription's queue: when the session has nothing else to write,
//          it takes the next frame's events after the cursor from the hub (a shared body, see
//          StreamHub::take_frame) and writes it with one gather write, no copy and nothing queued.
// Pulling (rather than the hub pushing into every session) is what bounds memory: a subscription
// takes events only when its session can write them, and when its cursor has left the ring
// meanwhile it reads the table again from that cursor. Nothing is dropped.
//
// Visibility of live events: the subscription's project was visible when it subscribed. When a
// member is added to or removed from that project, the subscription goes back to the table at
// that event, where the access check and row-level security decide again (a removed member gets
// an error not_found and the subscription ends).
#include "api/stream_session.hpp"

#include "api/auth.hpp"
#include "api/db_pool.hpp"
#include "api/route_support.hpp"
#include "api/router.hpp"
#include "core/error_details.hpp"
#include "core/json.hpp"
#include "events/event_reader.hpp"
#include "projections/time_travel.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <deque>
#include <limits>
#include <span>

namespace tasklog::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kStreamPath = "/v1/stream";
constexpr std::string_view kEventTail = "}";
constexpr std::string_view kEventsTail = "]}";

// ---- the upgrade request ----

[[noreturn]] void bad_query(std::string_view name, std::string message) {
  throw DomainError(ErrorCode::validation_failed, std::move(message),
                    ErrorDetails().add("keyword", "syntax").add("parameter", std::string(name)).json());
}

std::optional<Uuid> uuid_query(const QueryParams& query, std::string_view name) {
  const auto it = query.find(name);
  if (it == query.end() || it->second.empty()) return std::nullopt;
  auto id = parse_uuid(it->second);
  if (!id) bad_query(name, fmt::format("{} must be a UUID", name));
  return id;
}

std::string json_string(std::string_view text) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(out.GetString(), out.GetSize());
}

std::optional<StreamSubscribe> initial_subscription(const QueryParams& query) {
  StreamSubscribe s;
  s.project = uuid_query(query, "project");
  s.task = uuid_query(query, "task");
  if (!s.project && !s.task) return std::nullopt;
  if (const auto it = query.find("after"); it != query.end() && !it->second.empty()) {
    const auto& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), s.after);
    if (ec != std::errc() || end != text.data() + text.size() || s.after < 0)
      bad_query("after", "after must be a non-negative integer");
  }
  const auto id = query.find("id");
  s.id_json = json_string(id == query.end() ? "default" : id->second);
  return s;
}

// ?batch=true: events of one subscription that wait together go out as one
// {"type":"events",…,"events":[…]} frame. Off by default, so that every client sees one frame per
// event unless it asked for fewer, larger ones.
bool batch_query(const QueryParams& query) {
  const auto it = query.find("batch");
  if (it == query.end() || it->second.empty() || it->second == "false" || it->second == "0") return false;
  if (it->second == "true" || it->second == "1") return true;
  bad_query("batch", "batch must be true or false");
}

// ---- messages to the client ----

// Where an outgoing event message is split: head + the shared event object + "}".
std::string event_head(const std::string& id_json) {
  return fmt::format(R"({{"type":"event","subscription":{},"event":)", id_json);
}
// A batch frame: head + the events, comma-separated + "]}".
std::string events_head(const std::string& id_json) {
  return fmt::format(R"({{"type":"events","subscription":{},"events":[)", id_json);
}

std::string error_message(const std::string& id_json, const DomainError& error) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("type");
  w.String("error");
  w.Key("id");
  w.RawValue(id_json.data(), id_json.size(), rapidjson::kStringType);
  w.Key("error");
  w.StartObject();
  w.Key("code");
  const auto code = code_name(error.code());
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("message");
  w.String(error.what());
  w.Key("details");
  w.RawValue(error.details_json().data(), error.details_json().size(), rapidjson::kObjectType);
  w.EndObject();
  w.EndObject();
  return std::string(out.GetString(), out.GetSize());
}

// ---- the table side of catch-up (on a worker) ----

struct TableRead {
  std::optional<DomainError> error{};
  Uuid project{};
  std::vector<std::shared_ptr<const std::string>> events{};
  events::Position cursor = 0;   // where the subscription continues
  bool complete = false;         // the ring has everything after `cursor`
};

// `subscribing`: the subscription has not come up to date yet. Its catch-up then reads the table
// even when the ring holds the cursor: the ring may not have every event that committed before
// the subscription yet (it is read once per wake interval), and every such event must come
// before caught_up.
TableRead read_table(StreamContext& ctx, const Uuid& user, const StreamSubscribe& what, events::Position cursor,
                     std::size_t limit, std::size_t max_bytes, bool subscribing) {
  TableRead r;
  r.cursor = cursor;
  try {
    // Observed before the transaction starts, so the read below sees every event up to `head`.
    const auto head = ctx.hub.head();
    const auto floor = ctx.hub.floor();
    auto connection = ctx.pool.acquire();
    if (subscribing && cursor > head) {
      // `after` beyond what this process has seen: the hub may lag the database (another process
      // appended), so the log decides — read past row-level security, since a resume point is any
      // position the server said, not only one of the user's events. Beyond the log's last event
      // it is no position of this log (a client's bug, or a restored or other database): the events
      // up to it would be skipped without a word, so it is refused.
      pqxx::nontransaction owner(*connection, "log head");
      const auto last = projections::log_now(owner).head;
      if (cursor > last)
        throw DomainError(ErrorCode::validation_failed,
                          fmt::format("after ({}) is beyond the log's last position ({})", cursor, last),
                          ErrorDetails().add("field", "after").add("head", last).json());
    }
    UserReadTransaction read(*connection, user);  // rolled back at the end: it only reads
    auto& tx = read.tx();
    if (what.task) {
      r.project = require_task_access(tx, *what.task, Access::read);
      if (what.project && *what.project != r.project)
        throw DomainError(ErrorCode::not_found, "no such task in this project",
                          ErrorDetails().add("task_id", *what.task).json());
    } else {
      require_project_access(tx, *what.project, Access::read);
      r.project = *what.project;
    }
    if (cursor >= floor && !subscribing) {
      r.complete = true;  // the ring holds everything after the cursor: no read
      return r;
    }
    events::EventReader reader(tx);
    const auto page = what.task ? reader.task_page(*what.task, cursor, limit, max_bytes)
                                : reader.project_page(r.project, cursor, limit, max_bytes);
    for (const auto& e : page.events) r.events.push_back(ctx.hub.shared_json(e));
    if (!page.events.empty()) r.cursor = page.events.back().position;
    r.complete = !page.more;
    if (r.complete) r.cursor = std::max(r.cursor, head);
  } catch (const DomainError& e) {
    r.error = e;
  } catch (const pqxx::broken_connection& e) {
    r.error = DomainError(ErrorCode::unavailable, "the database is unavailable; subscribe again later");
  } catch (const std::exception& e) {
    spdlog::error("stream: catch-up read failed: {}", e.what());
    r.error = DomainError(ErrorCode::internal, "internal error");
  }
  return r;
}

// ---- the session ----

class StreamSession : public StreamListener, public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(tcp::socket socket, StreamGrant grant, StreamContext context)
      : ws_(std::move(socket)),
        ctx_(context),
        options_(context.hub.options()),
        user_(std::move(grant.user)),
        token_(std::move(grant.token)),
        initial_(std::move(grant.initial)),
        batch_(grant.batch),
        subprotocol_(grant.subprotocol),
        heartbeat_timer_(ws_.get_executor()),
        close_timer_(ws_.get_executor()) {}

  ~StreamSession() override {
    if (registered_) ctx_.hub.remove_listener(listener_id_);
    counters().subscriptions -= static_cast<std::int64_t>(subs_.size());
    counters().queued_messages -= static_cast<std::int64_t>(queue_.size());
  }

  void run(Request request) {
    listener_id_ = ctx_.hub.add_listener(shared_from_this(), go_away_pending_);
    registered_ = true;
    beast::error_code ignored;
    if (options_.send_buffer_bytes > 0)
      beast::get_lowest_layer(ws_).socket().set_option(net::socket_base::send_buffer_size(options_.send_buffer_bytes),
                                                       ignored);
    // A frame leaves when it is written: with Nagle's algorithm a frame smaller than a segment
    // waits for the acknowledgement of the previous one, which a client may delay by up to 40 ms.
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    // Beast's own timeouts from here on (the tcp_stream's must be off): keep-alive pings, idle close.
    beast::get_lowest_layer(ws_).expires_never();
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = options_.idle_timeout;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([subprotocol = subprotocol_](websocket::response_type& response) {
      response.set(http::field::server, "tasklog");
      // A browser that offered subprotocols fails the connection unless the answer names one.
      if (subprotocol)
        response.set(http::field::sec_websocket_protocol,
                     beast::string_view(kStreamSubprotocol.data(), kStreamSubprotocol.size()));
    }));
    ws_.read_message_max(options_.max_message_bytes);
    ws_.text(true);
    // A message is one frame and one write. Beast's default splits a server's message into 4 KiB
    // frames, each its own write (and read on the other side): a batch frame of 64 KiB was 16.
    ws_.auto_fragment(false);
    request_ = std::move(request);
    ws_.async_accept(request_, beast::bind_front_handler(&StreamSession::on_accept, shared_from_this()));
  }

  bool on_log_advanced() override {
    // Coalesced: one wake-up waits on the strand however many bursts arrive meanwhile.
    if (wake_pending_.exchange(true)) return false;
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->wake_pending_ = false;
      self->pump();
      self->ctx_.hub.wake_done();  // its frame is written (or waits for the write in flight)
    });
    return true;
  }

  void go_away() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (!self->open_) {
        self->go_away_pending_ = true;
        return;
      }
      self->start_close(websocket::close_code::going_away, "the server is shutting down");
    });
  }

 private:
  enum class Mode { table, ring };

  struct Subscription {
    std::uint64_t key = 0;  // ours: ids may be reused after an unsubscribe
    StreamSubscribe asked{};
    // An event message's head, shared by every queued message of the subscription: a queue of
    // 1,024 events costs 1,024 pointers, not 1,024 copies (and as many mallocs).
    std::shared_ptr<const std::string> event_head{};
    std::shared_ptr<const std::string> events_head{};  // batch frames
    Uuid project{};                 // known after the first access check
    events::Position cursor = 0;    // the last position this subscription has looked at
    Mode mode = Mode::table;
    bool reading = false;           // a table read is on a worker
    bool live = false;              // caught_up was sent (and it has not fallen behind since)
    bool up_to_date = false;        // a table read came up to the log's head once
    // Membership events up to here were re-checked (the access check ran after they committed).
    events::Position recheck_at = 0;
    events::Position checked_through = 0;
    // Rows the next table read asks PostgreSQL for: catchup_batch, or about what the byte budget
    // holds of events the size of the last page's. PostgreSQL turns every row of the page into
    // text before it cuts the page at the budget; a page of 500 artifacts of 256 KiB, cut to four,
    // converted 128 MiB for 1 MiB.
    std::size_t rows_hint = std::numeric_limits<std::size_t>::max();
  };

  struct Outgoing {
    Outgoing(std::shared_ptr<const std::string> h, std::shared_ptr<const std::string> e, std::uint64_t sub)
        : head(std::move(h)), event(std::move(e)), subscription(sub) {}
    // A message of its own (reply, caught_up, heartbeat, error).
    Outgoing(std::string message, std::nullptr_t, std::uint64_t sub)
        : head(std::make_shared<const std::string>(std::move(message))), subscription(sub) {}
    std::shared_ptr<const std::string> head{};   // the whole message, or an event message's head
    std::shared_ptr<const std::string> event{};  // the event object, shared with other sessions
    std::uint64_t subscription = 0;              // 0: not tied to a subscription
    // What it counts against the queue's byte bound (an event message's head is its subscription's).
    std::size_t bytes() const { return event ? event->size() : head->size(); }
  };

  StreamCounters& counters() { return ctx_.hub.counters(); }

  // Free places in the queue, net of those promised: to table reads in flight (their pages), and
  // to the client message being read (its reply). None while the queued and promised bytes reach
  // queue_bytes either.
  std::size_t room() const {
    if (queued_bytes_ + reserved_bytes_ >= options_.queue_bytes) return 0;
    const auto used = queue_.size() + reserved_ + (client_read_pending_ || checking_token_ ? 1 : 0);
    return used >= options_.queue_messages ? 0 : options_.queue_messages - used;
  }

  // Takes the queue's messages [first, last) out, with their counts.
  void drop_queued(std::deque<Outgoing>::iterator first, std::deque<Outgoing>::iterator last) {
    for (auto it = first; it != last; ++it) queued_bytes_ -= it->bytes();
    counters().queued_messages -= static_cast<std::int64_t>(last - first);
    queue_.erase(first, last);
  }

  void on_accept(beast::error_code ec) {
    request_ = {};
    if (ec) {
      spdlog::debug("stream: upgrade failed: {}", ec.message());
      return;
    }
    open_ = true;
    if (go_away_pending_) return start_close(websocket::close_code::going_away, "the server is shutting down");
    arm_heartbeat();
    read_message();
    if (initial_) add_subscription(std::move(*initial_));  // its token was checked at the upgrade
    initial_.reset();
  }

  // ---- reading client messages ----

  void read_message() {
    // A client that sends requests without reading the replies waits here (its replies would
    // otherwise grow the queue past its bound).
    if (room() == 0) {
      read_paused_ = true;
      return;
    }
    client_read_pending_ = true;
    ws_.async_read(read_buffer_, beast::bind_front_handler(&StreamSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    client_read_pending_ = false;  // its place is the reply's now
    if (ec) return finish(ec);  // closed (by either side), idle timeout, or a protocol error
    if (!closing_) handle_message(beast::buffers_to_string(read_buffer_.data()));
    read_buffer_.consume(read_buffer_.size());
    if (!checking_token_) read_message();  // else once the check has answered (subscribe)
  }

  void handle_message(const std::string& text) {
    // parse_json, as for every request body: iterative with a depth limit (RapidJSON's own Parse
    // recurses once per level, with no limit but the 64 KiB message), and no U+0000 inside a string
    // (a "subscribe\u0000x" type or an id with a NUL after its 36 characters was accepted, read as a
    // C string).
    rapidjson::Document doc;
    try {
      parse_json(text, doc);
    } catch (const DomainError& e) {
      return reply(error_message("null", e));
    }
    if (!doc.IsObject())
      return reply(error_message("null", DomainError(ErrorCode::validation_failed, "a message is a JSON object")));
    // As for a request body (route_support.cpp): which of two values counts differs between
    // readers — a browser's JSON.parse takes the last, FindMember here the first.
    if (const auto twice = first_duplicate_key(doc)) {
      const std::string_view key = std::string_view(*twice).substr(1);  // a JSON pointer: "/project"
      return reply(error_message("null", invalid(key, fmt::format("the message has the key {} twice", shown(key)))));
    }

    std::string id_json = "null";
    const auto id = doc.FindMember("id");
    if (id != doc.MemberEnd() && (id->value.IsString() || id->value.IsInt64())) {
      rapidjson::StringBuffer out;
      rapidjson::Writer<rapidjson::StringBuffer> w(out);
      id->value.Accept(w);
      id_json.assign(out.GetString(), out.GetSize());
    } else {
      return reply(error_message("null", invalid("id", "id (a string or an integer) is required")));
    }
    const auto type = doc.FindMember("type");
    const std::string_view kind =
        type != doc.MemberEnd() && type->value.IsString()
            ? std::string_view(type->value.GetString(), type->value.GetStringLength())
            : std::string_view{};
    // Messages are closed, like request bodies: a misspelt "aftr" would otherwise replay the
    // whole history from position 1 without a word.
    if (kind == "subscribe" || kind == "unsubscribe") {
      static constexpr std::array<std::string_view, 5> known{"type", "id", "project", "task", "after"};
      for (const auto& m : doc.GetObject()) {
        const std::string_view name(m.name.GetString(), m.name.GetStringLength());
        const auto allowed = std::span<const std::string_view>(known).first(kind == "subscribe" ? known.size() : 2);
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
          return reply(error_message(
              id_json, invalid(name, fmt::format("{} is not a known field of a {} message", shown(name), kind))));
      }
    }
    if (kind == "subscribe") {
      StreamSubscribe s;
      s.id_json = id_json;
      auto uuid_member = [&](const char* name) -> std::optional<Uuid> {
        const auto m = doc.FindMember(name);
        if (m == doc.MemberEnd() || m->value.IsNull()) return std::nullopt;
        std::optional<Uuid> parsed;
        if (m->value.IsString()) parsed = parse_uuid({m->value.GetString(), m->value.GetStringLength()});
        if (!parsed) throw invalid(name, fmt::format("{} must be a UUID", name));
        return parsed;
      };
      try {
        s.project = uuid_member("project");
        s.task = uuid_member("task");
        if (!s.project && !s.task) throw invalid("project", "project or task is required");
        if (const auto after = doc.FindMember("after"); after != doc.MemberEnd() && !after->value.IsNull()) {
          if (!after->value.IsInt64() || after->value.GetInt64() < 0)
            throw invalid("after", "after must be a non-negative integer");
          s.after = after->value.GetInt64();
        }
      } catch (const DomainError& e) {
        return reply(error_message(id_json, e));
      }
      return subscribe(std::move(s));
    }
    if (kind == "unsubscribe") return unsubscribe(id_json);
    reply(error_message(id_json, invalid("type", "type must be subscribe or unsubscribe")));
  }

  static DomainError invalid(std::string_view field, std::string message) {
    return DomainError(ErrorCode::validation_failed, std::move(message),
                       ErrorDetails().add("field", std::string(field)).json());
  }

  // A new subscription reads history (its catch-up): the token is checked again first, so that one
  // revoked or expired since the upgrade gets nothing more than it had — the heartbeat's re-check
  // would close the session only up to an interval later. Reading waits for the answer, so the
  // client's messages still apply in order, and the reply keeps the read's place in the queue.
  void subscribe(StreamSubscribe asked) {
    checking_token_ = true;
    ctx_.token_checks.sign_in(token_, [weak = weak_from_this(), asked = std::move(asked)](
                                          std::exception_ptr error, std::optional<Principal>) mutable {
      const bool refused = token_refused(error);
      if (auto self = weak.lock())
        net::post(self->ws_.get_executor(), [self, refused, asked = std::move(asked)]() mutable {
          self->checking_token_ = false;
          if (self->closing_ || self->ended_) return;
          if (refused) return self->on_token_refused();
          // A database that cannot answer refuses nothing here: the catch-up's own read fails then.
          self->add_subscription(std::move(asked));
          self->read_message();
        });
    });
  }

  void add_subscription(StreamSubscribe asked) {
    for (const auto& sub : subs_)
      if (sub.asked.id_json == asked.id_json)
        return reply(error_message(asked.id_json, invalid("id", "a subscription with this id exists")));
    if (subs_.size() >= options_.max_subscriptions)
      return reply(error_message(asked.id_json, invalid("id", fmt::format("at most {} subscriptions per connection",
                                                                          options_.max_subscriptions))));
    Subscription sub;
    sub.key = ++next_key_;
    sub.cursor = asked.after;
    sub.event_head = std::make_shared<const std::string>(event_head(asked.id_json));
    sub.events_head = std::make_shared<const std::string>(events_head(asked.id_json));
    sub.asked = std::move(asked);
    subs_.push_back(std::move(sub));
    ++counters().subscriptions;
    pump();
  }

  void unsubscribe(const std::string& id_json) {
    const auto it = std::find_if(subs_.begin(), subs_.end(), [&](const auto& s) { return s.asked.id_json == id_json; });
    if (it == subs_.end()) return reply(error_message(id_json, DomainError(ErrorCode::not_found, "no such subscription")));
    const auto key = it->key;
    subs_.erase(it);
    --counters().subscriptions;
    // Its queued messages go too (not the one being written): after the acknowledgement, nothing more.
    const auto first = queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_);
    drop_queued(std::stable_partition(first, queue_.end(), [&](const Outgoing& m) { return m.subscription != key; }),
                queue_.end());
    reply(fmt::format(R"({{"type":"unsubscribed","id":{}}})", id_json));
    pump();
  }

  // ---- moving events into the queue ----

  // Starts the table reads that have room, writes what is next, and reads client messages again
  // if they waited for room (a table read's pages may have used fewer places than it held).
  void pump() {
    if (!open_ || closing_ || ended_) return;
    const bool was_paused = paused_;
    paused_ = false;
    for (auto& sub : subs_) {
      if (sub.reading || sub.mode != Mode::table) continue;
      if (room() > 0) start_table_read(sub);
      else paused_ = true;
    }
    if (paused_ && !was_paused) ++counters().queue_full;
    write_next();
    resume_reading();
  }

  // A live subscription's next step, taken when the session has nothing queued to write: a frame
  // of events from the ring (the write starts), caught_up (queued), or back to the table when it
  // fell out of the ring or a membership change needs a new access check.
  void take_live(Subscription& sub) {
    const auto frame = ctx_.hub.take_frame({
        .project = sub.project,
        .task = sub.asked.task,
        .cursor = sub.cursor,
        .checked_through = sub.checked_through,
        .max_events = batch_ ? std::numeric_limits<std::size_t>::max() : 1,
        .max_bytes = batch_ ? options_.batch_bytes : std::numeric_limits<std::size_t>::max(),
    });
    if (frame.missed) {
      // Fell behind (or started behind): back to the table from the cursor.
      ++counters().ring_misses;
      sub.mode = Mode::table;
      sub.live = false;
      return to_table(sub);
    }
    sub.cursor = frame.cursor;
    if (frame.events > 0) return write_live(sub, frame);
    if (frame.membership_change) {
      // The table read decides, as the user, whether this event and what follows is visible.
      sub.recheck_at = *frame.membership_change;
      sub.mode = Mode::table;
      return to_table(sub);
    }
    if (!sub.live && sub.cursor >= frame.head && room() > 0) {
      sub.live = true;
      enqueue(Outgoing{fmt::format(R"({{"type":"caught_up","subscription":{},"position":{}}})", sub.asked.id_json,
                                   sub.cursor),
                       nullptr, sub.key});
    }
  }

  void to_table(Subscription& sub) {
    if (room() > 0) return start_table_read(sub);
    if (!paused_) ++counters().queue_full;
    paused_ = true;
  }

  void start_table_read(Subscription& sub) {
    const std::size_t limit = std::min({options_.catchup_batch, room(), sub.rows_hint});
    // Half of the byte room at most, as the page's count leaves room for the others' pages and the
    // client's replies (room() > 0, so it is at least one byte: a page holds one event whatever its size).
    const std::size_t max_bytes =
        std::min(options_.queue_bytes / 2, options_.queue_bytes - queued_bytes_ - reserved_bytes_);
    sub.reading = true;
    reserved_ += limit;
    reserved_bytes_ += max_bytes;
    ++counters().catchup_reads;
    net::post(ctx_.workers, [self = shared_from_this(), key = sub.key, asked = sub.asked, cursor = sub.cursor, limit,
                             max_bytes, subscribing = !sub.up_to_date] {
      auto result = read_table(self->ctx_, self->user_.user_id, asked, cursor, limit, max_bytes, subscribing);
      net::post(self->ws_.get_executor(), [self, key, limit, max_bytes, result = std::move(result)]() mutable {
        self->on_table_read(key, limit, max_bytes, std::move(result));
      });
    });
  }

  void on_table_read(std::uint64_t key, std::size_t limit, std::size_t max_bytes, TableRead result) {
    reserved_ -= limit;
    reserved_bytes_ -= max_bytes;
    const auto it = std::find_if(subs_.begin(), subs_.end(), [&](const auto& s) { return s.key == key; });
    if (it == subs_.end() || ended_ || closing_) return pump();  // unsubscribed meanwhile
    auto& sub = *it;
    sub.reading = false;
    if (result.error) {
      // Not visible (any more), or the database is away: the subscription ends with the reason.
      enqueue(Outgoing{error_message(sub.asked.id_json, *result.error), nullptr, 0});
      subs_.erase(it);
      --counters().subscriptions;
      return pump();
    }
    sub.project = result.project;
    sub.checked_through = std::max(sub.checked_through, sub.recheck_at);
    // The head of the frame it will leave in, fixed now: the subscription may have ended (a later
    // page's error) by the time these are written, and a batch connection still gets `events`.
    const auto& head = batch_ ? sub.events_head : sub.event_head;
    if (!result.events.empty()) {
      std::size_t bytes = 0;
      for (const auto& json : result.events) bytes += json->size();
      sub.rows_hint = options_.queue_bytes / 2 / std::max<std::size_t>(1, bytes / result.events.size()) + 1;
    }
    for (auto& json : result.events) enqueue(Outgoing{head, std::move(json), sub.key});
    sub.cursor = std::max(sub.cursor, result.cursor);
    if (result.complete) {
      sub.mode = Mode::ring;
      sub.up_to_date = true;
    }
    pump();
  }

  void enqueue(Outgoing message) {
    queued_bytes_ += message.bytes();
    queue_.push_back(std::move(message));
    ++counters().queued_messages;
    counters().note_queue_depth(static_cast<std::int64_t>(queue_.size()), static_cast<std::int64_t>(queued_bytes_));
  }

  // Client messages are read while the queue has room beside the places promised to table reads
  // (room()), so their replies keep the queue within its bound.
  void resume_reading() {
    if (read_paused_ && room() > 0) {
      read_paused_ = false;
      read_message();
    }
  }

  // A reply to a client message: read_message() only reads while room() > 0, so this stays within
  // the bound.
  void reply(std::string message) {
    enqueue(Outgoing{std::move(message), nullptr, 0});
    write_next();
  }

  // ---- writing ----

  void write_next() {
    if (writing_ || closing_ || ended_) return;
    // Queued messages first (replies, caught_up, table pages): a subscription's caught_up and the
    // pages before it leave before its live events.
    for (std::size_t n = 0; queue_.empty() && n < subs_.size() && !writing_ && !closing_; ++n) {
      // Round robin, so that one busy subscription does not starve the others of a connection.
      auto& sub = subs_[next_live_++ % subs_.size()];
      if (sub.mode == Mode::ring && !sub.reading) take_live(sub);
    }
    if (writing_ || queue_.empty()) return;
    writing_ = true;
    write_started_ = Clock::now();
    const auto& m = queue_.front();
    in_flight_ = 1;
    if (batch_ && m.event) return write_batch(m.subscription, *m.head);
    buffers_ = {net::buffer(*m.head), m.event ? net::buffer(*m.event) : net::const_buffer(),
                m.event ? net::buffer(kEventTail.data(), kEventTail.size()) : net::const_buffer()};
    ws_.async_write(buffers_, beast::bind_front_handler(&StreamSession::on_write, shared_from_this()));
  }

  // Live events: the subscription's head, the shared body, the tail — one gather write (a server
  // does not mask, so Beast sends the buffers as they are).
  void write_live(const Subscription& sub, const StreamHub::Frame& frame) {
    writing_ = true;
    write_started_ = Clock::now();
    live_in_flight_ = frame.events;
    live_head_ = batch_ ? sub.events_head : sub.event_head;
    live_body_ = frame.body;
    const auto tail = batch_ ? kEventsTail : kEventTail;
    buffers_ = {net::buffer(*live_head_), net::buffer(*live_body_), net::buffer(tail.data(), tail.size())};
    ws_.async_write(buffers_, beast::bind_front_handler(&StreamSession::on_write, shared_from_this()));
  }

  // The events of subscription `key` at the front of the queue, up to batch_bytes, as one frame
  // under `head` (its events_head). Copied into one buffer: a frame of hundreds of events would be
  // more iovecs than one writev takes.
  void write_batch(std::uint64_t key, const std::string& head) {
    batch_buffer_.assign(head);
    in_flight_ = 0;
    for (const auto& m : queue_) {
      if (!m.event || m.subscription != key) break;
      if (in_flight_ > 0 && batch_buffer_.size() + m.event->size() + 2 > options_.batch_bytes) break;
      if (in_flight_ > 0) batch_buffer_.push_back(',');
      batch_buffer_.append(*m.event);
      ++in_flight_;
    }
    batch_buffer_.append(kEventsTail);
    ws_.async_write(net::buffer(batch_buffer_), beast::bind_front_handler(&StreamSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    drop_queued(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_));
    if (!ec) counters().messages_sent += in_flight_ + live_in_flight_;
    in_flight_ = 0;
    live_in_flight_ = 0;
    live_head_.reset();
    live_body_.reset();
    if (ec) {
      // The connection is gone. A pending read fails as well and ends the session — but there is
      // none while reading is paused on a full queue, and then nothing else would: the session
      // would stay registered, its queue held, each wake-up starting another write that fails.
      // So end it here, and close the socket so that a pending read completes at once.
      if (!ended_) {
        finish(ec);
        beast::get_lowest_layer(ws_).close();
      }
      return;
    }
    // A session with nothing more to send gives its frame buffer back: a thousand idle sessions
    // must not each keep one.
    if (queue_.empty() && batch_buffer_.capacity() > 0) std::string().swap(batch_buffer_);
    if (closing_ || ended_) return;  // Beast sends the queued close frame now
    resume_reading();
    // Refill in batches, not one message per completed write.
    if (paused_ && queue_.size() <= options_.queue_messages / 2 && queued_bytes_ <= options_.queue_bytes / 2) return pump();
    write_next();
  }

  // ---- heartbeats, stalls, closing ----

  void arm_heartbeat() {
    heartbeat_timer_.expires_after(options_.heartbeat_interval);
    heartbeat_timer_.async_wait(beast::bind_front_handler(&StreamSession::on_heartbeat, shared_from_this()));
  }

  void on_heartbeat(beast::error_code ec) {
    if (ec || closing_ || ended_) return;
    if (writing_ && Clock::now() - write_started_ >= options_.stall_timeout) {
      ++counters().slow_closes;
      spdlog::info("stream: closing a session whose client has not read for {} ms", options_.stall_timeout.count());
      return start_close(websocket::close_code::policy_error, "the client is not reading its messages");
    }
    if (room() > 0) {
      enqueue(Outgoing{fmt::format(R"({{"type":"heartbeat","position":{}}})", ctx_.hub.head()), nullptr, 0});
      write_next();
    }
    recheck_token();
    arm_heartbeat();
  }

  // The token was checked at the upgrade; a stream lives for hours, so it is checked again at every
  // heartbeat, and a token revoked or expired since ends the session (1008 with the reason). A
  // REST request stops at once; a stream within one heartbeat interval. Through a TaskReads of the
  // streams' own (StreamContext::token_checks): sessions of one token share a call, and sessions of
  // many tokens queue there, not in front of REST requests' sign-ins. A database that cannot
  // answer keeps the stream (its reads fail on their own).
  void recheck_token() {
    ctx_.token_checks.sign_in(token_, [weak = weak_from_this()](std::exception_ptr error, std::optional<Principal>) {
      if (!token_refused(error)) return;
      if (auto self = weak.lock()) net::post(self->ws_.get_executor(), [self] { self->on_token_refused(); });
    });
  }

  // Whether a sign-in's error says the token is no good (revoked, expired, unknown) — not that the
  // database could not answer, which refuses nothing.
  static bool token_refused(const std::exception_ptr& error) {
    if (!error) return false;
    try {
      std::rethrow_exception(error);
    } catch (const DomainError& e) {
      return e.code() == ErrorCode::unauthorized;
    } catch (...) {
      return false;
    }
  }

  void on_token_refused() {
    if (closing_ || ended_) return;
    ++counters().token_closes;
    spdlog::info("stream: closing a session whose token was revoked or has expired");
    start_close(websocket::close_code::policy_error, "the token was revoked or has expired");
  }

  void start_close(websocket::close_code code, std::string_view reason) {
    if (closing_ || ended_) return;
    closing_ = true;
    heartbeat_timer_.cancel();
    // What is queued is not sent any more (the one being written completes first).
    drop_queued(queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_), queue_.end());
    // Beast holds the close frame until a write in flight completes; a client that reads nothing
    // never lets it complete, so the socket is dropped after close_timeout whatever happens.
    ws_.async_close(websocket::close_reason(code, beast::string_view(reason.data(), reason.size())), [self = shared_from_this()](beast::error_code) {});
    close_timer_.expires_after(options_.close_timeout);
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->ended_) beast::get_lowest_layer(self->ws_).close();
    });
  }

  void finish(beast::error_code ec) {
    if (ec != websocket::error::closed && ec != net::error::operation_aborted && ec != beast::error::timeout)
      spdlog::debug("stream: session ended: {}", ec.message());
    ended_ = true;
    heartbeat_timer_.cancel();
    close_timer_.cancel();
    drop_queued(queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_), queue_.end());
  }

  websocket::stream<beast::tcp_stream> ws_;
  StreamContext ctx_;
  const StreamOptions& options_;
  Principal user_;
  std::string token_;  // its bearer token, checked again at every heartbeat (recheck_token)
  std::optional<StreamSubscribe> initial_;
  bool batch_ = false;  // ?batch=true
  bool subprotocol_ = false;  // the client offered kStreamSubprotocol (StreamGrant::subprotocol)
  Request request_{};  // the upgrade request, until it is accepted
  beast::flat_buffer read_buffer_;
  net::steady_timer heartbeat_timer_;
  net::steady_timer close_timer_;

  std::vector<Subscription> subs_;
  std::uint64_t next_key_ = 0;
  std::deque<Outgoing> queue_;
  std::size_t reserved_ = 0;
  std::size_t queued_bytes_ = 0;    // Outgoing::bytes() of the queue's messages
  std::size_t reserved_bytes_ = 0;  // the byte budgets of table reads in flight
  std::array<net::const_buffer, 3> buffers_{};  // the message being written
  std::string batch_buffer_;                     // or the batch frame being written
  std::size_t in_flight_ = 0;                    // queued messages the write in progress carries
  // A live frame being written: its parts are held here, as the subscription may end meanwhile.
  std::shared_ptr<const std::string> live_head_{};
  std::shared_ptr<const std::string> live_body_{};
  std::size_t live_in_flight_ = 0;  // events in it
  std::size_t next_live_ = 0;       // where the round robin over subscriptions goes on
  Clock::time_point write_started_{};

  std::uint64_t listener_id_ = 0;
  bool registered_ = false;
  std::atomic<bool> wake_pending_{false};
  bool open_ = false;
  bool writing_ = false;
  bool paused_ = false;       // a subscription waits for room in the queue
  bool read_paused_ = false;  // client messages wait for room in the queue
  bool checking_token_ = false;  // a subscribe message waits for its token check (subscribe)
  bool client_read_pending_ = false;  // a client message is being read: one place is its reply's
  bool closing_ = false;
  bool ended_ = false;
  bool go_away_pending_ = false;
};

}  // namespace

bool is_stream_request(const Request& request) {
  if (!websocket::is_upgrade(request)) return false;
  const std::string_view target(request.target().data(), request.target().size());
  return target.substr(0, target.find('?')) == kStreamPath;
}

std::variant<Response, StreamGrant> admit_stream(const Request& request, DbPool& pool) {
  try {
    const std::string_view target(request.target().data(), request.target().size());
    const auto question = target.find('?');
    const auto query = parse_query(question == std::string_view::npos ? std::string_view{} : target.substr(question + 1));
    auto token = bearer_token(request);
    bool subprotocol = false;
    const auto offered = request[http::field::sec_websocket_protocol];
    for (std::string_view rest(offered.data(), offered.size()); !rest.empty();) {
      const auto comma = rest.find(',');
      const std::string_view entry = trim_ows(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (entry == kStreamSubprotocol) subprotocol = true;
      else if (!token && entry.starts_with(kStreamTokenSubprotocol) && entry.size() > kStreamTokenSubprotocol.size())
        token = entry.substr(kStreamTokenSubprotocol.size());
    }
    if (!token) {
      if (const auto it = query.find("access_token"); it != query.end() && !it->second.empty()) token = it->second;
    }
    if (!token)
      throw DomainError(ErrorCode::unauthorized,
                        "the stream needs an Authorization: Bearer <token> header, a tasklog.token.<token> subprotocol "
                        "or an access_token parameter");
    std::optional<Principal> user;
    {
      auto connection = pool.acquire();
      user = authenticate(*connection, *token);
    }
    if (!user) throw DomainError(ErrorCode::unauthorized, kUnknownTokenMessage);
    return StreamGrant{.user = std::move(*user),
                       .token = std::string(*token),
                       .initial = initial_subscription(query),
                       .batch = batch_query(query),
                       .subprotocol = subprotocol};
  } catch (const DomainError& e) {
    return error_response(e);
  } catch (const pqxx::broken_connection&) {
    return error_response(DomainError(ErrorCode::unavailable, "the database is unavailable"));
  } catch (const std::exception& e) {
    spdlog::error("stream: upgrade failed: {}", e.what());
    return error_response(DomainError(ErrorCode::internal, "internal error"));
  }
}

void start_stream_session(tcp::socket socket, Request request, StreamGrant grant, StreamContext context) {
  std::make_shared<StreamSession>(std::move(socket), std::move(grant), context)->run(std::move(request));
}

}  // namespace tasklog::api
