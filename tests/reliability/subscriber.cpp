// Subscriber: one WsClient at a time, replaced by a new one resuming from the last position.
#include "tests/reliability/subscriber.hpp"

#include "core/time.hpp"
#include "tests/support/ws_client.hpp"

#include <rapidjson/pointer.h>

#include <algorithm>
#include <cmath>

namespace tasklog::testing {

using namespace std::chrono_literals;

Subscriber::Subscriber(std::function<boost::asio::ip::tcp::endpoint()> server, std::string token, std::string project,
                       SubscriberPace pace)
    : server_(std::move(server)),
      token_(std::move(token)),
      project_(std::move(project)),
      pace_(pace),
      thread_([this] { run(); }) {}

Subscriber::~Subscriber() {
  stop();
  join();
}

void Subscriber::join() {
  if (thread_.joinable()) thread_.join();
}

std::vector<std::int64_t> Subscriber::positions() const {
  std::lock_guard lock(mutex_);
  return positions_;
}

std::vector<double> Subscriber::latencies_ms() const {
  std::lock_guard lock(mutex_);
  return latencies_ms_;
}

std::vector<std::string> Subscriber::notes() const {
  std::lock_guard lock(mutex_);
  return notes_;
}

void Subscriber::note(std::string text) {
  std::lock_guard lock(mutex_);
  notes_.push_back(std::move(text));
}

void Subscriber::run() {
  while (!stopping_ && !finished_) {
    try {
      WsClient ws(server_(), pace_.receive_buffer);
      const auto status = ws.connect("/v1/stream?project=" + project_ + "&after=" + std::to_string(last_), token_);
      if (status != 101) {
        note("upgrade answered " + std::to_string(status));
        std::this_thread::sleep_for(100ms);
        continue;
      }
      ++connections_;
      while (!stopping_ && !finished_) {
        const auto text = ws.next_text();
        if (!text) {
          note("closed by the server: " + std::to_string(ws.close_code()) + " " + ws.close_reason());
          break;
        }
        const auto received = std::chrono::system_clock::now();
        rapidjson::Document m;
        m.Parse(text->data(), text->size());
        const auto* type = rapidjson::Pointer("/type").Get(m);
        if (m.HasParseError() || type == nullptr || !type->IsString()) {
          note("not a message: " + *text);
          continue;
        }
        const std::string_view kind(type->GetString(), type->GetStringLength());
        if (kind == "caught_up") {
          live_ = true;
        } else if (kind == "error") {
          note("error message: " + *text);
        } else if (kind == "event") {
          const std::int64_t position = m["event"]["position"].GetInt64();
          const auto recorded = parse_timestamp(m["event"]["recorded_at"].GetString());
          {
            std::lock_guard lock(mutex_);
            positions_.push_back(position);
            if (recorded) latencies_ms_.push_back(std::chrono::duration<double, std::milli>(received - *recorded).count());
          }
          last_ = position;
          event_bytes_ += text->size();
          if (position >= finish_at_) finished_ = true;
        }
        if (pace_.per_message.count() > 0) std::this_thread::sleep_for(pace_.per_message);
      }
    } catch (const std::exception& e) {
      note(std::string("connection failed: ") + e.what());
      std::this_thread::sleep_for(100ms);
    }
  }
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace tasklog::testing
