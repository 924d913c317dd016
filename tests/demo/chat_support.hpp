// Helpers for the chat tests: a CallSink that keeps every record, a chat endpoint running in a thread
// with its output kept, and queries over the records.
#pragma once
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sockscope/annotate/calls.hpp"
#include "sockscope/demo/chat.hpp"

namespace chat_test {

using sockscope::CallRecord;
using sockscope::Endpoint;
using namespace sockscope::demo;

class RecordingSink final : public sockscope::CallSink {
 public:
  void on_call(const CallRecord& c) override {
    std::lock_guard<std::mutex> lock(m_);
    calls_.push_back(c);
  }
  std::vector<CallRecord> calls() {
    std::lock_guard<std::mutex> lock(m_);
    return calls_;
  }
  // Records of one call name that returned.
  std::vector<CallRecord> returned(const std::string& name) {
    std::vector<CallRecord> out;
    for (const CallRecord& c : calls())
      if (c.call == name && c.returned) out.push_back(c);
    return out;
  }

 private:
  std::mutex m_;
  std::vector<CallRecord> calls_;
};

// What an endpoint printed (messages and notices), through a temporary file.
class Captured {
 public:
  Captured() : f_(std::tmpfile()) {}
  ~Captured() {
    if (f_) std::fclose(f_);
  }
  Captured(const Captured&) = delete;
  Captured& operator=(const Captured&) = delete;
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    std::string s;
    std::rewind(f_);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f_)) > 0) s.append(buf, n);
    std::fseek(f_, 0, SEEK_END);
    return s;
  }

 private:
  std::FILE* f_;
};

// A chat endpoint in a thread (the server, or a client that must run beside another).
class Running {
 public:
  explicit Running(ChatOptions o) : opts(std::move(o)) {}
  ~Running() { finish(); }

  // Starts it and waits (up to 2 s) for on_ready. False when it never got ready.
  bool start() {
    hooks.calls = &sink;
    hooks.out = out.file();
    hooks.stop = &stop;
    hooks.on_ready = &Running::ready_cb;
    hooks.ready_ctx = this;
    thread_ = std::thread([this] {
      rc = run_chat(opts, hooks);
      std::lock_guard<std::mutex> lock(m_);
      done_ = true;
      cv_.notify_all();
    });
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait_for(lock, std::chrono::seconds(2), [this] { return ready_ || done_; });
    return ready_;
  }
  // Waits (bounded) for the endpoint to end by itself; true if it did.
  bool wait_done(int ms) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return done_; });
  }
  void finish() {
    stop.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return local.port; }

  ChatOptions opts;
  ChatHooks hooks;
  RecordingSink sink;
  Captured out;
  std::atomic<bool> stop{false};
  Endpoint local;
  int rc = -1;

 private:
  static void ready_cb(void* ctx, const Endpoint& e) {
    auto* self = static_cast<Running*>(ctx);
    std::lock_guard<std::mutex> lock(self->m_);
    self->local = e;
    self->ready_ = true;
    self->cv_.notify_all();
  }
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  bool ready_ = false, done_ = false;
};

// Waits (bounded) until pred() holds, checking every 5 ms.
inline bool eventually(const std::function<bool()>& pred, int ms = 1500) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// Waits until done(), for as long as progress() keeps changing: fails only when progress() stood
// still for stall_ms. A bound derived from the work: a busy machine is slower, not stuck.
inline bool eventually_progressing(const std::function<bool()>& done, const std::function<long()>& progress,
                                   int stall_ms = 5000) {
  long last = progress();
  auto last_change = std::chrono::steady_clock::now();
  while (!done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const long now = progress();
    if (now != last) {
      last = now;
      last_change = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_change > std::chrono::milliseconds(stall_ms)) {
      return done();
    }
  }
  return true;
}

inline ChatOptions server_options(ChatKind kind, const std::string& host = "127.0.0.1") {
  ChatOptions o;
  o.kind = kind;
  o.host = host;
  o.port = 0;
  o.timeout_ms = 1500;
  return o;
}

inline ChatOptions client_options(ChatKind kind, std::uint16_t port, const std::string& host = "127.0.0.1") {
  ChatOptions o;
  o.kind = kind;
  o.host = host;
  o.port = port;
  o.timeout_ms = 1500;
  o.linger_ms = 150;
  return o;
}

// Runs a client in the calling thread.
inline int run_client(const ChatOptions& o, RecordingSink& sink, Captured& out) {
  ChatHooks h;
  h.calls = &sink;
  h.out = out.file();
  return run_chat(o, h);
}

// A plain socket connected to 127.0.0.1:port, for peers that misbehave.
inline int raw_connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Everything a raw socket receives until end of stream or its 1 s timeout.
inline std::string read_all(int fd) {
  std::string s;
  char buf[1024];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) s.append(buf, static_cast<std::size_t>(n));
  return s;
}

// A port nobody listens on (bound, read, released).
inline std::uint16_t closed_port(int type) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::int64_t sum_results(const std::vector<CallRecord>& v) {
  std::int64_t n = 0;
  for (const CallRecord& c : v)
    if (c.result > 0) n += c.result;
  return n;
}

inline std::string joined_data(const std::vector<CallRecord>& v) {
  std::string s;
  for (const CallRecord& c : v) s += c.data;
  return s;
}

}  // namespace chat_test
