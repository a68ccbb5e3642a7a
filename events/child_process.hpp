// Child processes without a shell: fork + execve with an argument vector, optionally as another
// OS user and optionally detached as a daemon. The embedded PostgreSQL launcher runs initdb and
// postgres through it; tests run the tasklog binary through it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tasklog::events {

// An OS account to run a child as (initdb and postgres refuse to run as root).
struct OsUser {
  std::string name;
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;  // supplementary groups, as initgroups() would set them
};

// Looks the account up in the user database; nullopt when there is no such user.
std::optional<OsUser> find_os_user(const std::string& name);

struct SpawnOptions {
  std::vector<std::string> argv;     // argv[0] is the executable's absolute path (no PATH search)
  std::vector<std::string> env;      // "KEY=VALUE" entries set on top of this process's environment
  std::optional<OsUser> run_as;      // switch to this user in the child (needs root)
  int output_fd = -1;                // the child's stdout and stderr; -1 inherits ours
  bool detach = false;               // daemon: own session, reparented to init, never our child
};

// Starts the program and returns its pid once execve succeeded; throws std::system_error naming the
// program when it could not be executed. Stdin is /dev/null and every descriptor above 2 is closed
// in the child, so a daemon never inherits our sockets or, worse, our flock()ed lock files.
// A non-detached child must be reaped with wait_for_exit()/try_wait(); a detached one is not ours
// to reap (watch it with process_alive()). Safe to call from several threads at once.
pid_t spawn(const SpawnOptions& options);

// Blocks until the child exits; returns its exit status, or 128 + signal number if it was killed.
int wait_for_exit(pid_t pid);

// Non-blocking: the exit status (as wait_for_exit) if the child has exited, else nullopt.
std::optional<int> try_wait(pid_t pid);

// True while the process exists and is not a zombie (a zombie has exited; only its parent's
// bookkeeping keeps the pid alive, and kill(pid, 0) would still succeed on it).
bool process_alive(pid_t pid);

// Polls process_alive() until the process is gone or the timeout passes; true if it is gone.
bool wait_until_gone(pid_t pid, std::chrono::milliseconds timeout);

// Whether `user` may access(path, mode) — checked in a forked child that switched to the user,
// so directory permissions, group membership and ACLs all count exactly as they will for the
// real program.
bool user_can_access(const OsUser& user, const std::filesystem::path& path, int mode);

}  // namespace tasklog::events
