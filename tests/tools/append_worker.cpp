// A separate OS process that appends events, for the multi-process race tests:
//   tasklog_append_worker CONNINFO THREADS EVENTS_PER_THREAD
// Prints "appended N" and exits 0 when every append was acknowledged.
#include "events/event_store.hpp"

#include <boost/uuid/random_generator.hpp>

#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  using namespace tasklog::events;
  if (argc != 4) {
    std::cerr << "usage: tasklog_append_worker CONNINFO THREADS EVENTS_PER_THREAD\n";
    return 2;
  }
  const std::string conninfo = argv[1];
  const int threads = std::stoi(argv[2]);
  const int per_thread = std::stoi(argv[3]);
  EventStore store({.conninfo = conninfo});
  std::atomic<int> appended{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  const tasklog::Uuid project = boost::uuids::random_generator{}();
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      boost::uuids::random_generator gen;
      const tasklog::Uuid stream = gen();
      for (int i = 0; i < per_thread; ++i) {
        NewEvent e{.event_id = gen(), .type = "Noted", .payload = R"({"worker":true})", .project_id = project,
                   .actor_id = project};
        try {
          store.append({StreamAppend{stream, "task", ExpectedVersion::exact(i), {e}}});
          ++appended;
        } catch (const std::exception& ex) {
          std::cerr << "append failed: " << ex.what() << "\n";
          failed = true;
          return;
        }
      }
    });
  for (auto& w : workers) w.join();
  std::cout << "appended " << appended.load() << std::endl;
  return failed ? 1 : 0;
}
