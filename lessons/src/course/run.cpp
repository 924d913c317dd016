// Running a lesson.
//
// Order matters, as in `sockscope demo`: the capture is open before the first call (no SYN is
// missed); the calls run in the lesson's order, each endpoint in its own thread; narration, pauses
// and quizzes travel through the live session as markers, so they land on the timeline exactly
// between the packets and calls before and after them; the capture stops only after every call has
// returned and the last packets (a final ACK) had time to arrive; the expectations are checked last,
// against everything the capture and the calls showed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <thread>

#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/text/json.hpp"
#include "sockscope/lessons/lab.hpp"
#include "sockscope/lessons/lesson_run.hpp"
#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/pcap/live_session.hpp"
#include "sockscope/demo/socket_calls.hpp"
#include "sockscope/views/svg.hpp"
#include "lesson_internal.hpp"
#include "program.hpp"

namespace sockscope::lesson {

bool RunResult::ok() const {
  return ran && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

namespace {

using detail::Facts;
using detail::Value;
using Clock = std::chrono::steady_clock;

// A call record that is not a call: a place on the timeline for narration (its fd is the note's id).
constexpr const char* kMarker = "\x01lesson-note";
// A step's call that has not returned after this long is waiting (for a peer): the lesson moves on.
constexpr int kWaitingAfterMs = 50;
// Every blocking call gives up after this (SO_RCVTIMEO, SO_SNDTIMEO), so a lesson always ends. In the
// lab, where packets are lost on purpose, a call may wait for retransmissions (a lost SYN is re-sent
// after 1 s, a lost segment after 200 ms and more): longer.
constexpr int kCallTimeoutMs = 2000;
constexpr int kLabCallTimeoutMs = 10000;
// Lab servers use fixed ports: the lab's hosts are new and have nothing else running.
constexpr std::uint16_t kLabFirstPort = 7000;
// After the last step: time for the last packets (the final ACK, a delayed ACK) to be captured.
constexpr int kSettleMs = 150;
// How long a lesson waits for a program endpoint: for a call it awaits, and for it to end once its
// input is closed. Starting an interpreter under trace takes a moment; a program that needs longer is
// not a lesson's.
constexpr int kProgramWaitMs = 10000;

Timestamp realtime_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return Timestamp{ts.tv_sec, static_cast<std::uint32_t>(ts.tv_nsec)};
}

// Text wrapped to the width: the first line behind `first`, the others behind `next`.
std::string wrap(const std::string& text, int width, const std::string& first, const std::string& next) {
  // Terminal columns (CJK characters take two), breaking between Chinese characters too (escape.hpp).
  return text::wrap_text(text, static_cast<std::size_t>(std::clamp(width, 40, 100)), first, next);
}

// Paragraphs wrapped to the width, each line behind a bar: narration stands apart from the timeline.
std::string narration_text(const std::vector<std::string>& paragraphs, int width) {
  std::string out = "\n";
  for (std::size_t p = 0; p < paragraphs.size(); ++p) {
    if (p) out += "  │\n";
    out += wrap(paragraphs[p], width, "  │ ", "  │ ");
  }
  return out + "\n";
}

// Passes packets and calls to the learner's view, remembers them for the checks, and prints the
// lesson's notes where their markers fall on the timeline. Runs in the capture thread.
class LessonView final : public View {
 public:
  LessonView(View& inner, OutBuffer& out, Facts& facts, bool json) : inner_(inner), out_(out), facts_(facts), json_(json) {}

  void packet(const Packet& p, const Annotation& a) override {
    last_frame_ = p.frame;
    facts_.add_packet(p, a);
    inner_.packet(p, a);
  }
  void call(const CallRecord& c, std::uint32_t conn) override {
    if (c.call == kMarker) {
      std::string text;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = notes_.find(c.fd);
        if (it != notes_.end()) {
          text = std::move(it->second);
          notes_.erase(it);
        }
      }
      if (!json_ && !text.empty()) out_.put(text);
      out_.flush();
      {
        std::lock_guard<std::mutex> lock(mu_);
        shown_ = std::max(shown_, c.fd);
      }
      cv_.notify_all();
      return;
    }
    if (c.returned) facts_.add_place(c, last_frame_);
    inner_.call(c, conn);
  }
  void conversation(const ConnSummary& s) override { inner_.conversation(s); }
  void finish() override {
    inner_.finish();
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    cv_.notify_all();
  }

  // Queues a note (shown when its marker comes through) and returns its id.
  int add_note(std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    notes_[++next_] = std::move(text);
    return next_;
  }
  // Waits until the note was shown (or the session ended).
  void wait_shown(int id) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return shown_ >= id || finished_; });
  }

 private:
  View& inner_;
  OutBuffer& out_;
  Facts& facts_;
  bool json_;
  std::uint64_t last_frame_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, std::string> notes_;
  int next_ = 0, shown_ = 0;
  bool finished_ = false;
};

// Records an endpoint's returned calls under its lesson name, and passes every record to the session.
class RecordingSink final : public CallSink {
 public:
  RecordingSink(std::string name, Facts& facts, CallSink& next) : name_(std::move(name)), facts_(facts), next_(next) {}
  void on_call(const CallRecord& c) override {
    if (c.returned) facts_.add_call(name_, c);
    next_.on_call(c);
  }

 private:
  std::string name_;
  Facts& facts_;
  CallSink& next_;
};

// A program endpoint's calls: on its side of the timeline (the trace reports every call as a client's),
// and only those of internet sockets: the AF_UNIX calls a runtime makes by itself (a name lookup
// through nscd) are not the learner's and make no packets.
class ProgramSink final : public CallSink {
 public:
  ProgramSink(CallRole role, CallSink& next) : role_(role), next_(next) {}
  void on_call(const CallRecord& c) override {
    if (c.proto != Proto::Tcp && c.proto != Proto::Udp) return;
    CallRecord r = c;
    r.endpoint = role_;
    next_.on_call(r);
  }

 private:
  CallRole role_;
  CallSink& next_;
};

struct LessonEndpoint {
  const EndpointDecl* decl = nullptr;
  demo::SockAddr addr;        // server: where it binds; client: its server
  std::unique_ptr<RecordingSink> sink;
  demo::ChatHooks hooks;
  std::unique_ptr<demo::Reporter> rep;
  int sock = -1, conn = -1;
  bool bound = false;
  std::vector<int> old_fds;   // replaced by a new socket() without close(): closed after the capture
  demo::SockAddr last_peer;   // the last datagram's sender, or the accepted client
  bool have_peer = false;
  bool failed = false;        // an unexpected failure: its later calls are skipped
  int failed_line = 0;
  // An endpoint that runs a program (decl->program()): the program, and the sink its calls go to.
  std::unique_ptr<ProgramSink> program_sink;
  std::unique_ptr<detail::ProgramRun> program;

  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<const Step*> queue;
  std::uint64_t queued = 0, done = 0;
  bool quit = false;
};

class Runner {
 public:
  Runner(const Lesson& lesson, const RunOptions& opts) : lesson_(lesson), opts_(opts) {}

  RunResult run();

 private:
  bool prepare(std::string& error);
  void intro();
  void show(std::string text);  // a note on the timeline, now; returns once it is shown
  int note(std::string text);    // the same without waiting for it to be shown (from any thread)
  void sync() { show(std::string()); }
  void do_step(const Step& st, bool live);
  void dispatch(LessonEndpoint& ep, const Step& st);
  void wait_all(int timeout_ms);
  void wait_done(LessonEndpoint& ep, Clock::time_point deadline);  // until its queued calls have returned
  void endpoint_loop(LessonEndpoint& ep);
  // One step's socket call on its endpoint (in the endpoint's thread): what it returned, then checked
  // against what the lesson expects.
  struct Outcome {
    std::int64_t result = 0;
    int err = 0;
    void set(std::int64_t r) {
      result = r;
      err = r < 0 ? errno : 0;
    }
    void fail(int e) {
      result = -1;
      err = e;
    }
  };
  void execute(LessonEndpoint& ep, const Step& st);
  bool ensure_socket(LessonEndpoint& ep, Outcome& out);
  demo::SockAddr own_address(const LessonEndpoint& ep) const;
  bool bind_own(LessonEndpoint& ep, Outcome& out);
  void accept_one(LessonEndpoint& ep, Outcome& out);
  bool send_to(LessonEndpoint& ep, const Step& st, Outcome& out);
  void receive_from(LessonEndpoint& ep, const Step& st, Outcome& out);
  void close_one(LessonEndpoint& ep, const Step& st, Outcome& out);
  void set_option(LessonEndpoint& ep, const Step& st, Outcome& out);
  void check_call(LessonEndpoint& ep, const Step& st, std::int64_t result, int err);
  // A program endpoint's steps: start (in the endpoint's thread, in its host), type, await and end
  // (in the lesson's own thread: the lesson waits for them).
  std::vector<std::string> program_command(const LessonEndpoint& ep) const;
  void start_program(LessonEndpoint& ep, const Step& st);
  void program_step(LessonEndpoint& ep, const Step& st);
  void end_program(LessonEndpoint& ep, const Step* st);
  void fail_step(const Step& st, std::string message) {
    add_check(Check{st.line, st.source, "", false, std::move(message), {}});
  }
  void ask(const Step& st, bool live);
  void add_check(Check c) {
    std::lock_guard<std::mutex> lock(checks_mu_);
    result_.checks.push_back(std::move(c));
  }
  Check evaluate(const Step& st);
  void report();
  void put(const std::string& s) {
    out_->put(s);
    out_->flush();
  }
  std::string filled(const std::vector<std::string>& paragraphs) {
    std::vector<std::string> p;
    std::lock_guard<std::mutex> lock(facts_.mu);
    for (const auto& s : paragraphs) p.push_back(detail::fill_placeholders(s, lesson_, facts_));
    return narration_text(p, opts_.view_options.width);
  }
  bool json() const { return opts_.view == ViewKind::Json; }
  LessonEndpoint* endpoint(const std::string& name) {
    for (auto& e : endpoints_)
      if (e->decl->name == name) return e.get();
    return nullptr;
  }

  // run(), step by step.
  bool start_lab(std::string& error);
  LiveSessionOptions capture_options() const;
  void make_views();
  bool start_endpoints(std::string& error);
  void stop_endpoints();
  bool open_session(const LiveSessionOptions& so, std::string& error);
  void attach_reporters();
  std::size_t live_steps_end() const;
  void close_what_the_lesson_left_open();
  void recap(const LiveSessionResult& sr, std::size_t live_end);
  void save_picture();

  const Lesson& lesson_;
  RunOptions opts_;
  bool interactive_ = false;
  int call_timeout_ms_ = kCallTimeoutMs;
  lab::Guard lab_;
  std::unique_ptr<TeeView> tee_;
  std::unique_ptr<SvgLadder> svg_;
  RunResult result_;
  std::mutex checks_mu_;
  Facts facts_;
  std::unique_ptr<OutBuffer> out_;
  std::unique_ptr<View> inner_;
  std::unique_ptr<LessonView> view_;
  std::unique_ptr<LiveSession> session_;
  std::vector<std::unique_ptr<LessonEndpoint>> endpoints_;
  std::vector<std::pair<const Step*, std::string>> quiz_answers_;  // for JSON
};

bool Runner::prepare(std::string& error) {
  // Addresses and free ports first: a server's port is known before anything runs.
  for (const auto& d : lesson_.endpoints) {
    auto ep = std::make_unique<LessonEndpoint>();
    ep->decl = &d;
    if (d.role == Role::Server) {
      const int type = d.proto == Proto::Tcp ? SOCK_STREAM : SOCK_DGRAM;
      if (!demo::resolve(d.address, 0, type, ep->addr, error)) return false;
      std::uint16_t port = d.port;
      if (d.port_auto && lesson_.lab.on) {
        port = static_cast<std::uint16_t>(kLabFirstPort + endpoints_.size());
      } else if (d.port_auto) {
        port = demo::free_port(ep->addr, type, error);
        if (port == 0) {
          error = text::format(tr("could not find a free port on %1$s: %2$s"), d.address, error);
          return false;
        }
      }
      if (ep->addr.family() == AF_INET) reinterpret_cast<sockaddr_in*>(&ep->addr.ss)->sin_port = htons(port);
      else reinterpret_cast<sockaddr_in6*>(&ep->addr.ss)->sin6_port = htons(port);
    }
    endpoints_.push_back(std::move(ep));
  }
  for (auto& ep : endpoints_)
    if (ep->decl->role == Role::Client) ep->addr = endpoint(ep->decl->target)->addr;
  return true;
}

void Runner::intro() {
  if (json()) return;
  std::string s = "\n  " + lesson_.title + "\n  ";
  s += std::string(std::min<std::size_t>(text::display_width(lesson_.title), 70), '=') + "\n";
  const int width = opts_.view_options.width;
  if (!lesson_.topic.empty()) s += wrap(text::labelled(tr("Topic:"), lesson_.topic), width, "  ", "    ");
  s += wrap(lesson_.summary, width, "  ", "  ");
  if (!lesson_.watch.empty()) s += wrap(text::labelled(tr("Watch:"), lesson_.watch), width, "  ", "    ");
  std::string list;
  for (const auto& ep : endpoints_) {
    if (!list.empty()) list += ", ";
    list += ep->decl->name + " (" + proto_name(ep->decl->proto);
    if (ep->decl->role == Role::Server) list += ", " + demo::endpoint_text(demo::to_endpoint(ep->addr));
    else list += ", " + text::format(tr("talks to %s"), ep->decl->target.c_str());
    if (ep->decl->program()) {
      // The program as a learner would type it: file names without their folders.
      std::string cmd;
      for (const std::string& w : program_command(*ep)) {
        if (!cmd.empty()) cmd += ' ';
        const auto slash = w.find(' ') == std::string::npos ? w.find_last_of('/') : std::string::npos;
        cmd += slash == std::string::npos ? w : w.substr(slash + 1);
      }
      list += ", " + text::format(tr("runs %s"), text::printable(cmd, 120).c_str());
    }
    list += ")";
  }
  s += "  " + text::labelled(tr("Endpoints:"), list);
  s += "\n";
  s += std::string("  ") +
       (interactive_ ? tr("Each socket call and each packet appears below as it happens; press Enter when asked.")
                     : tr("Each socket call and each packet appears below as it happens."));
  s += "\n";
  put(s);
}

void Runner::show(std::string text) { view_->wait_shown(note(std::move(text))); }

int Runner::note(std::string text) {
  const int id = view_->add_note(std::move(text));
  CallRecord m;
  m.call = kMarker;
  m.fd = id;
  m.ts = m.ts_return = realtime_now();
  m.returned = true;
  session_->on_call(m);
  return id;
}

void Runner::dispatch(LessonEndpoint& ep, const Step& st) {
  std::unique_lock<std::mutex> lock(ep.mu);
  ep.queue.push_back(&st);
  const std::uint64_t ticket = ++ep.queued;
  ep.cv.notify_all();
  // Until the call returns, or is clearly waiting for a peer (accept before connect, recv before
  // send): then the next step may be the one it waits for.
  ep.cv.wait_for(lock, std::chrono::milliseconds(kWaitingAfterMs), [&] { return ep.done >= ticket; });
}

void Runner::wait_all(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (auto& ep : endpoints_) wait_done(*ep, deadline);
}

void Runner::wait_done(LessonEndpoint& ep, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(ep.mu);
  ep.cv.wait_until(lock, deadline, [&] { return ep.done >= ep.queued; });
}

void Runner::endpoint_loop(LessonEndpoint& ep) {
  for (;;) {
    const Step* st = nullptr;
    {
      std::unique_lock<std::mutex> lock(ep.mu);
      ep.cv.wait(lock, [&] { return ep.quit || !ep.queue.empty(); });
      if (ep.queue.empty()) return;
      st = ep.queue.front();
    }
    if (!ep.failed) execute(ep, *st);
    {
      std::lock_guard<std::mutex> lock(ep.mu);
      ep.queue.pop_front();
      ++ep.done;
    }
    ep.cv.notify_all();
  }
}

// The calls the kernel makes wait at most timeout_ms: set quietly (not a call the lesson made).
void bound_waits(int fd, int timeout_ms) {
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A step that needs a socket makes one first (socket() shows on the timeline like any call).
bool Runner::ensure_socket(LessonEndpoint& ep, Outcome& out) {
  if (ep.sock >= 0) return true;
  const int type = ep.decl->proto == Proto::Tcp ? SOCK_STREAM : SOCK_DGRAM;
  const int fd = ep.rep->socket(ep.addr.family(), type);
  if (fd < 0) {
    out.fail(errno);
    return false;
  }
  bound_waits(fd, call_timeout_ms_);
  ep.sock = fd;
  return true;
}

// A server binds its own address and port; a client binds the loopback of its family (in the lab, the
// client host's address), any port.
demo::SockAddr Runner::own_address(const LessonEndpoint& ep) const {
  const EndpointDecl& d = *ep.decl;
  demo::SockAddr a = ep.addr;
  if (d.role == Role::Client) {
    std::string ignored;
    if (lesson_.lab.on)
      demo::resolve(a.family() == AF_INET ? lab::kClientIPv4 : lab::kClientIPv6, 0,
                    d.proto == Proto::Tcp ? SOCK_STREAM : SOCK_DGRAM, a, ignored);
    if (a.family() == AF_INET) reinterpret_cast<sockaddr_in*>(&a.ss)->sin_port = 0;
    else reinterpret_cast<sockaddr_in6*>(&a.ss)->sin6_port = 0;
  }
  return a;
}

bool Runner::bind_own(LessonEndpoint& ep, Outcome& out) {
  const int rc = ep.rep->bind(ep.sock, own_address(ep));
  if (rc == 0) ep.bound = true;
  out.set(rc);
  return rc == 0;
}

void Runner::accept_one(LessonEndpoint& ep, Outcome& out) {
  demo::SockAddr peer;
  const int fd = ep.sock >= 0 ? ep.rep->accept(ep.sock, peer) : (errno = EBADF, -1);
  out.set(fd);
  if (fd < 0) return;
  bound_waits(fd, call_timeout_ms_);
  if (ep.conn >= 0) ep.old_fds.push_back(ep.conn);
  ep.conn = fd;
  ep.last_peer = peer;
  ep.have_peer = true;
}

// sendto: to the named endpoint, else a client's server, else (a server) the last sender. Returns false
// when the step cannot be made at all (a server with no one to answer): a failed check, not a call.
bool Runner::send_to(LessonEndpoint& ep, const Step& st, Outcome& out) {
  const bool server = ep.decl->role == Role::Server;
  demo::SockAddr to = ep.addr;
  if (!st.to.empty()) to = endpoint(st.to)->addr;
  else if (server) to = ep.last_peer;
  if (server && st.to.empty() && !ep.have_peer) {
    add_check(Check{st.line, st.source, "", false,
                    tr("the server has no one to answer yet: let it recvfrom first (it answers the last sender)"), {}});
    ep.failed = true;
    ep.failed_line = st.line;
    return false;
  }
  // A UDP server sends from its bound socket; one that has not bound gets it bound first.
  if (ensure_socket(ep, out) && (!server || ep.bound || bind_own(ep, out)))
    out.set(ep.rep->sendto(ep.sock, st.data, to));
  return true;
}

void Runner::receive_from(LessonEndpoint& ep, const Step& st, Outcome& out) {
  if (!ensure_socket(ep, out)) return;
  if (ep.decl->role == Role::Server && !ep.bound && !bind_own(ep, out)) return;
  std::string buf(st.size, '\0');
  demo::SockAddr from;
  const ssize_t n = ep.rep->recvfrom(ep.sock, buf.data(), buf.size(), from, st.nowait ? MSG_DONTWAIT : 0);
  out.set(n);
  if (n >= 0) {
    ep.last_peer = from;
    ep.have_peer = true;
  }
}

// close: the listening socket when the step says so, else the connection, else the socket.
void Runner::close_one(LessonEndpoint& ep, const Step& st, Outcome& out) {
  int* which = st.listener ? &ep.sock : ep.conn >= 0 ? &ep.conn : &ep.sock;
  if (*which < 0) {
    out.fail(EBADF);
    return;
  }
  out.set(ep.rep->close(*which));
  if (which == &ep.sock) ep.bound = false;
  *which = -1;
}

void Runner::set_option(LessonEndpoint& ep, const Step& st, Outcome& out) {
  demo::Reporter& rep = *ep.rep;
  const int fd = ep.conn >= 0 ? ep.conn : ep.sock;
  const std::string& o = st.option;
  const int v = st.values.empty() ? 0 : st.values[0];
  if (o == "SO_LINGER") {
    linger l{};
    l.l_onoff = v >= 0 ? 1 : 0;
    l.l_linger = v >= 0 ? v : 0;
    out.set(rep.setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l,
                           "SOL_SOCKET, SO_LINGER, {" + std::to_string(l.l_onoff) + ", " + std::to_string(l.l_linger) + "}"));
  } else if (o == "TCP_NODELAY") {
    out.set(rep.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v, "IPPROTO_TCP, TCP_NODELAY, " + std::to_string(v)));
  } else {
    const int name = o == "SO_RCVBUF" ? SO_RCVBUF : o == "SO_SNDBUF" ? SO_SNDBUF : SO_REUSEADDR;
    out.set(rep.setsockopt(fd, SOL_SOCKET, name, &v, sizeof v, "SOL_SOCKET, " + o + ", " + std::to_string(v)));
  }
}

void Runner::execute(LessonEndpoint& ep, const Step& st) {
  demo::Reporter& rep = *ep.rep;
  Outcome out;
  const auto data_fd = [&ep] { return ep.conn >= 0 ? ep.conn : ep.sock; };
  const std::string& c = st.call;
  if (c == "sleep") {
    std::this_thread::sleep_for(std::chrono::milliseconds(st.ms));
    return;
  }
  if (c == "start") {
    start_program(ep, st);
    return;
  }
  if (c == "socket") {
    if (ep.sock >= 0) ep.old_fds.push_back(ep.sock);
    ep.sock = -1;
    ep.bound = false;
    ensure_socket(ep, out);
  } else if (c == "bind") {
    if (ensure_socket(ep, out)) bind_own(ep, out);
  } else if (c == "listen") {
    if (ensure_socket(ep, out) && (ep.bound || bind_own(ep, out))) out.set(rep.listen(ep.sock, st.backlog));
  } else if (c == "accept") {
    accept_one(ep, out);
  } else if (c == "connect") {
    const demo::SockAddr to = st.to.empty() ? ep.addr : endpoint(st.to)->addr;
    if (ensure_socket(ep, out)) out.set(rep.connect(ep.sock, to));
  } else if (c == "send") {
    if (data_fd() >= 0 || ensure_socket(ep, out)) out.set(rep.send(data_fd(), st.data, st.nowait ? MSG_DONTWAIT : 0));
  } else if (c == "recv") {
    std::string buf(st.size, '\0');
    const int fd = data_fd();
    const int flags = (st.all ? MSG_WAITALL : 0) | (st.nowait ? MSG_DONTWAIT : 0);
    out.set(fd >= 0 ? rep.recv(fd, buf.data(), buf.size(), flags) : (errno = EBADF, -1));
  } else if (c == "sendto") {
    if (!send_to(ep, st, out)) return;
  } else if (c == "recvfrom") {
    receive_from(ep, st, out);
  } else if (c == "shutdown") {
    out.set(data_fd() >= 0 ? rep.shutdown(data_fd(), st.how) : (errno = ENOTCONN, -1));
  } else if (c == "close") {
    close_one(ep, st, out);
  } else if (c == "setsockopt") {
    if (data_fd() >= 0 || ensure_socket(ep, out)) set_option(ep, st, out);
  }
  check_call(ep, st, out.result, out.err);
}

void Runner::check_call(LessonEndpoint& ep, const Step& st, std::int64_t result, int err) {
  const CallExpect& x = st.expect;
  auto got = [&] {
    return result < 0 ? std::string("-1 ") + errno_name(err) + " (" + std::strerror(err) + ")" : std::to_string(result);
  };
  Check c;
  c.line = st.line;
  c.source = st.source;
  c.ok = true;
  switch (x.kind) {
    case CallExpect::Kind::Default:
    case CallExpect::Kind::Ok:
      c.ok = result >= 0;
      if (!c.ok)
        c.message = text::format(tr("%1$s %2$s() failed: %3$s; the lesson expected it to succeed (write '-> %4$s' if the failure is the point)"),
                              st.endpoint.c_str(), st.call.c_str(), got().c_str(), errno_name(err));
      break;
    case CallExpect::Kind::Any: break;
    case CallExpect::Kind::Result:
      c.ok = result == x.result;
      if (!c.ok)
        c.message = text::format(tr("expected %1$s() to return %2$lld; it returned %3$s"), st.call.c_str(),
                              static_cast<long long>(x.result), got().c_str());
      break;
    case CallExpect::Kind::Errno:
      c.ok = result < 0 && err == x.err;
      if (!c.ok)
        c.message = text::format(tr("expected %1$s() to fail with %2$s; it returned %3$s"), st.call.c_str(), x.text.c_str(),
                              got().c_str());
      break;
  }
  if (c.ok) c.message = text::format(tr("%1$s %2$s() returned %3$s"), st.endpoint.c_str(), st.call.c_str(), got().c_str());
  // Calls whose result the lesson states are listed with the checks; others only when they fail.
  // ("-> any" states nothing: not a check.)
  if ((x.kind != CallExpect::Kind::Default && x.kind != CallExpect::Kind::Any) || !c.ok) add_check(c);
  if (!c.ok && (x.kind == CallExpect::Kind::Default || x.kind == CallExpect::Kind::Ok)) {
    // Later calls of this endpoint would act on a socket that is not there: they are skipped.
    ep.failed = true;
    ep.failed_line = st.line;
  }
}

// A program's command with its placeholders filled: {address} and {port} of its server (its own, or the
// one its client talks to), {examples} and {dir}.
std::vector<std::string> Runner::program_command(const LessonEndpoint& ep) const {
  const EndpointDecl& server = ep.decl->role == Role::Server ? *ep.decl : *lesson_.endpoint(ep.decl->target);
  const std::string port = std::to_string(demo::to_endpoint(ep.addr).port);
  const auto slash = lesson_.path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : lesson_.path.substr(0, slash);
  std::vector<std::string> argv;
  for (std::string word : ep.decl->command) {
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"{address}", server.address},
                                     {"{port}", port}, {"{examples}", opts_.examples_dir}, {"{dir}", dir}})
      for (auto at = word.find(key); at != std::string::npos; at = word.find(key, at + value.size()))
        word.replace(at, key.size(), value);
    argv.push_back(std::move(word));
  }
  return argv;
}

// Starts the program in the endpoint's thread (the lab's host it is in), traced: its calls join the
// timeline on its side, what it prints appears where it prints it.
void Runner::start_program(LessonEndpoint& ep, const Step& st) {
  if (ep.program) {
    fail_step(st, text::format(tr("%1$s was started already"), ep.decl->name));
    return;
  }
  const std::vector<std::string> argv = program_command(ep);
  const bool needs_examples = std::any_of(ep.decl->command.begin(), ep.decl->command.end(), [](const std::string& w) {
    return w.find("{examples}") != std::string::npos;
  });
  if (argv[0].empty() || (needs_examples && opts_.examples_dir.empty())) {
    fail_step(st, tr("the example programs that come with sockscope were not found"));
    ep.failed = true;
    return;
  }
  ep.program = std::make_unique<detail::ProgramRun>();
  const std::string name = ep.decl->name;
  std::string error;
  const bool ok = ep.program->start(argv, *ep.program_sink, [this, name](const std::string& line) {
    if (json()) return;
    // Where it was read: a line printed while the capture is busy does not wait for it.
    note(text::format(tr("  %1$s printed: %2$s\n"), name, text::printable(line, 300)));
  }, error);
  if (!ok) {
    fail_step(st, error);
    ep.failed = true;
  }
}

void Runner::program_step(LessonEndpoint& ep, const Step& st) {
  if (!ep.program) {
    fail_step(st, text::format(tr("%1$s has not been started: write '%1$s start' before this line"), ep.decl->name));
    return;
  }
  if (st.call == "type") {
    if (!json()) show(text::format(tr("  (typed into %1$s: %2$s)\n"), ep.decl->name, text::printable(st.data, 300)));
    if (!ep.program->type(st.data))
      fail_step(st, text::format(tr("%1$s no longer reads its input: it has ended"), ep.decl->name));
  } else if (st.call == "await") {
    // Until the program's call has returned N times: the facts gain each returned call as it comes.
    const auto deadline = Clock::now() + std::chrono::milliseconds(kProgramWaitMs);
    const auto seen = [&] {
      std::lock_guard<std::mutex> lock(facts_.mu);
      return std::count_if(facts_.calls.begin(), facts_.calls.end(), [&](const detail::CallFact& c) {
        return c.endpoint == ep.decl->name && c.call == st.awaited;
      });
    };
    // A program that has ended makes no more calls: no use waiting for the rest of the time.
    bool ended = false;
    while (seen() < st.count && Clock::now() < deadline && !(ended = ep.program->ended()))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (seen() < st.count && ended) {
      std::string why = ep.program->error();
      fail_step(st, text::format(tr("%1$s ended without the %2$s() call the lesson waited for%3$s"), ep.decl->name,
                                 st.awaited, why.empty() ? std::string() : " (" + why + ")"));
    } else if (seen() < st.count) {
      std::string why = ep.program->error();
      fail_step(st, text::format(trn("%1$s made no %2$s() call within %3$d seconds%4$s",
                                     "%1$s made fewer than %5$d %2$s() calls within %3$d seconds%4$s",
                                     static_cast<unsigned long>(st.count)),
                                 ep.decl->name, st.awaited, kProgramWaitMs / 1000,
                                 why.empty() ? std::string() : " (" + why + ")", st.count));
    }
  } else if (st.call == "end") {
    end_program(ep, &st);
  }
}

// Closes the program's input and waits for it to end (bounded); its exit status is checked against the
// lesson's "end -> STATUS" (0 when the line says nothing). At the end of a lesson (st null) a program
// still running is ended the same way, and only a forced stop is reported.
void Runner::end_program(LessonEndpoint& ep, const Step* st) {
  bool in_time = true;
  const int status = ep.program->end(kProgramWaitMs, in_time);
  const std::string error = ep.program->error();
  ep.program.reset();
  const int line = st ? st->line : ep.decl->line;
  const std::string source = st ? st->source : ep.decl->name + " end";
  if (!in_time) {
    add_check(Check{line, source, "", false,
                    text::format(tr("%1$s did not end within %2$d seconds of its input being closed, and was stopped"),
                                 ep.decl->name, kProgramWaitMs / 1000),
                    {}});
    return;
  }
  if (!st) return;
  const CallExpect& x = st->expect;
  const bool ok = x.kind == CallExpect::Kind::Any || status == (x.kind == CallExpect::Kind::Result ? x.result : 0);
  std::string message = ok ? text::format(tr("%1$s ended with status %2$d"), ep.decl->name, status)
                           : text::format(tr("%1$s ended with status %2$d; the lesson expected %3$lld"), ep.decl->name,
                                          status, static_cast<long long>(x.kind == CallExpect::Kind::Result ? x.result : 0));
  if (!ok && !error.empty()) message += " (" + error + ")";
  if (x.kind == CallExpect::Kind::Result || !ok) add_check(Check{line, source, "", ok, message, {}});
}

// A quiz: the answer comes from the capture so far; interactive runs read and grade the learner's.
void Runner::ask(const Step& st, bool live) {
  if (live) sync();  // everything before this point is on the timeline and in the facts
  Value v;
  {
    std::lock_guard<std::mutex> lock(facts_.mu);
    v = detail::eval(st.answer, facts_);
  }
  ++result_.quiz_asked;
  if (!v.ok) {
    add_check(Check{st.line, st.source, st.label, false,
                    text::format(tr("the quiz's answer could not be computed from this run: %s"), v.why.c_str()), {}});
    quiz_answers_.emplace_back(&st, "");
    if (!json()) {
      const std::string t = "\n  ? " + st.question + "\n    " + tr("(no answer: the capture does not show it)") + "\n";
      live ? show(t) : put(t);
    }
    return;
  }
  quiz_answers_.emplace_back(&st, v.shown());
  if (json()) return;
  const std::string where = detail::frames_text(v.frames);
  const std::string answer = v.shown() + (where.empty() ? "" : " (" + where + ")");
  // "1 (frame 2): the SYN takes one sequence number." as one translatable sentence.
  const std::string why_answer = st.label.empty() ? text::format(tr("%1$s."), answer)
                                                  : text::format(tr("%1$s: %2$s."), answer, st.label);
  std::string q = "\n  ? " + text::labelled(tr("Quiz:"), st.question) + "\n";
  if (!interactive_) {
    q += "    " + text::labelled(tr("answer:"), why_answer) + "\n";
    live ? show(q) : put(q);
    return;
  }
  q += "    " + text::labelled(tr("your answer:"), "");
  live ? show(q) : put(q);
  char buf[256];
  if (!std::fgets(buf, sizeof buf, opts_.in)) {
    interactive_ = false;
    const std::string t = "\n    " + text::labelled(tr("answer:"), why_answer) + "\n";
    live ? show(t) : put(t);
    return;
  }
  std::string a = detail::trim(buf);
  while (!a.empty() && (a.back() == '\n' || a.back() == '\r')) a.pop_back();
  bool right = false;
  if (v.is_text) {
    right = a.size() == v.text.size() && std::equal(a.begin(), a.end(), v.text.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
            });
  } else {
    char* end = nullptr;
    const long long n = std::strtoll(a.c_str(), &end, 10);
    right = !a.empty() && end && *end == '\0' && n == v.n;
  }
  std::string f;
  if (right) {
    ++result_.quiz_right;
    f = "    ✓ " + text::labelled(tr("Right:"), why_answer) + "\n";
  } else if (a.empty()) {
    f = "    " + text::labelled(tr("The answer:"), why_answer) + "\n";
  } else {
    f = "    ✗ " + text::labelled(tr("Not quite: this run's capture shows"), why_answer) + "\n";
  }
  live ? show(f) : put(f);
}

void Runner::do_step(const Step& st, bool live) {
  switch (st.kind) {
    case Step::Kind::Narrate: {
      if (json()) return;
      const bool placeholders = std::any_of(st.paragraphs.begin(), st.paragraphs.end(),
                                            [](const std::string& p) { return p.find('{') != std::string::npos; });
      if (live) {
        if (placeholders) sync();
        show(filled(st.paragraphs));
      } else {
        put(filled(st.paragraphs));
      }
      return;
    }
    case Step::Kind::Pause:
      if (!interactive_ || !live) return;
      show("  (" + std::string(tr("press Enter to go on")) + ") ");
      {
        char buf[256];
        if (!std::fgets(buf, sizeof buf, opts_.in)) interactive_ = false;
      }
      return;
    case Step::Kind::Sleep:
      if (live) std::this_thread::sleep_for(std::chrono::milliseconds(st.ms));
      return;
    case Step::Kind::Wait:
      if (live) wait_all(call_timeout_ms_ + 1000);
      return;
    case Step::Kind::Call: {
      if (!live) return;
      LessonEndpoint& ep = *endpoint(st.endpoint);
      if (ep.decl->program() && st.call != "start" && st.call != "sleep") {
        // After what this endpoint's thread still has to do (its start, a sleep); not after the other
        // endpoints' calls: one of them may be waiting for what this step makes the program do.
        wait_done(ep, Clock::now() + std::chrono::milliseconds(call_timeout_ms_ + 1000));
        program_step(ep, st);
      } else {
        dispatch(ep, st);
      }
      return;
    }
    case Step::Kind::Expect: return;  // checked at the end, against the whole capture
    case Step::Kind::Quiz: ask(st, live); return;
  }
}

Check Runner::evaluate(const Step& st) {
  Check c;
  c.line = st.line;
  c.source = st.source;
  c.label = st.label;
  std::lock_guard<std::mutex> lock(facts_.mu);
  if (st.expect_kind == Step::ExpectKind::InOrder) {
    const ExpectResult r = expect_in_order(detail::seen_packets(facts_), st.words);
    c.ok = r.ok;
    c.message = r.message;
    c.frames = r.frames;
    return c;
  }
  const Value l = detail::eval(st.lhs, facts_);
  const Value r = detail::eval(st.rhs, facts_);
  if (!l.ok || !r.ok) {
    c.ok = false;
    c.message = text::format(tr("expected %1$s %2$s %3$s; but %4$s"), st.lhs.source.c_str(), st.op.c_str(),
                          st.rhs.source.c_str(), (!l.ok ? l.why : r.why).c_str());
    return c;
  }
  bool ok = false;
  if (l.is_text || r.is_text) {
    // Words compare without regard to case: a MAC address reads the same as ff:ff:... or FF:FF:...
    const std::string a = l.shown(), b = r.shown();
    const bool eq = a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                      return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
                    });
    ok = st.op == "==" ? eq : st.op == "!=" ? !eq : false;
  } else {
    const std::int64_t a = l.n, b = r.n;
    ok = st.op == "==" ? a == b : st.op == "!=" ? a != b : st.op == "<" ? a < b : st.op == "<=" ? a <= b
         : st.op == ">" ? a > b : a >= b;
  }
  c.ok = ok;
  c.frames = l.frames;
  c.frames.insert(c.frames.end(), r.frames.begin(), r.frames.end());
  auto side = [](const Expr& e, const Value& v) {
    std::string s = e.source;
    if (e.terms.size() == 1 && (e.terms[0].kind == Term::Kind::Number || e.terms[0].kind == Term::Kind::Text)) return s;
    s += " = " + v.shown();
    const std::string f = detail::frames_text(v.frames);
    if (!f.empty()) s += " (" + f + ")";
    return s;
  };
  auto constant = [](const Expr& e) {
    return e.terms.size() == 1 && (e.terms[0].kind == Term::Kind::Number || e.terms[0].kind == Term::Kind::Text);
  };
  if (ok) {
    c.message = side(st.lhs, l);
    if (!constant(st.rhs)) c.message += ", " + side(st.rhs, r);
  } else {
    if (constant(st.rhs))
      c.message = text::format(tr("expected %1$s %2$s %3$s; the capture showed %4$s"), st.lhs.source.c_str(),
                            st.op.c_str(), st.rhs.source.c_str(), side(st.lhs, l).c_str());
    else
      c.message = text::format(tr("expected %1$s %2$s %3$s; the capture showed %4$s and %5$s"), st.lhs.source.c_str(),
                            st.op.c_str(), st.rhs.source.c_str(), side(st.lhs, l).c_str(), side(st.rhs, r).c_str());
  }
  return c;
}

void Runner::report() {
  std::sort(result_.checks.begin(), result_.checks.end(),
            [](const Check& a, const Check& b) { return a.line < b.line; });
  std::size_t failed = 0;
  for (const auto& c : result_.checks) failed += c.ok ? 0 : 1;
  if (json()) {
    std::string s;
    for (const auto& c : result_.checks) {
      const text::Json check{{"type", "check"},   {"line", c.line},       {"ok", c.ok},
                             {"source", c.source}, {"label", c.label},     {"message", c.message},
                             {"frames", c.frames}};
      s += text::json_dump(check) + "\n";
    }
    for (const auto& [st, answer] : quiz_answers_)
      s += text::json_dump({{"type", "quiz"}, {"line", st->line}, {"question", st->question}, {"answer", answer}}) + "\n";
    s += text::json_dump({{"type", "lesson"},
                          {"name", lesson_.name},
                          {"ok", failed == 0},
                          {"checks", result_.checks.size()},
                          {"failed", failed}}) +
         "\n";
    put(s);
    return;
  }
  std::string s = "\n  " + std::string(tr("Checks (each against this run's capture):")) + "\n";
  for (const auto& c : result_.checks) {
    if (c.ok) {
      s += "    ✓ " + (c.label.empty() ? c.source : c.label);
      const std::string f = detail::frames_text(c.frames);
      if (!f.empty()) s += " (" + f + ")";
      s += "\n";
    } else {
      s += "    ✗ " + text::format(tr("line %1$d: %2$s"), c.line, c.source.c_str()) + "\n";
      s += "      " + c.message + "\n";
    }
  }
  if (!lesson_.explain.empty()) {
    s += "\n  " + std::string(tr("You can now explain:")) + "\n";
    for (const auto& e : lesson_.explain) s += "    - " + e + "\n";
  }
  s += "\n";
  if (failed == 0) {
    s += "  " + text::format(trn("%1$s: the check held (%2$zu).", "%1$s: every check held (%2$zu).", result_.checks.size()),
                          lesson_.name.c_str(), result_.checks.size());
  } else {
    s += "  " + text::format(trn("%1$s: %2$zu of %3$zu checks failed (marked ✗ above).",
                              "%1$s: %2$zu of %3$zu checks failed (marked ✗ above).", result_.checks.size()),
                          lesson_.name.c_str(), failed, result_.checks.size());
  }
  if (result_.quiz_asked > 0 && interactive_)
    s += " " + text::format(tr("Quiz: %1$d of %2$d right."), result_.quiz_right, result_.quiz_asked);
  s += "\n";
  put(s);
}

// The lab: built before anything else (and removed by lab_'s watchdog however the run ends).
bool Runner::start_lab(std::string& error) {
  if (::geteuid() != 0) {
    error = tr("this lesson builds a two-host lab (network namespaces and nftables), which needs root: run it with "
               "sudo");
    return false;
  }
  lab::LabOptions lo;
  lo.mtu = lesson_.lab.mtu;
  lo.loss_pct = lesson_.lab.loss_pct;
  lo.drop_syn = lesson_.lab.drop_syn;
  lo.sack = lesson_.lab.sack;
  std::string why;
  if (lab_.up(lo, why) != lab::UpResult::Ok) {
    error = text::format(tr("could not build the lab: %1$s"), why);
    return false;
  }
  return true;
}

// Opens the live session. In the lab the capture belongs to the client host: this thread steps into
// the client's namespace to open it (the capture's socket stays there) and comes back.
bool Runner::open_session(const LiveSessionOptions& so, std::string& error) {
  int home = -1;
  if (lesson_.lab.on) {
    home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0 || !lab::enter(lab::kClientNs, error)) {
      if (home >= 0) ::close(home);
      if (error.empty())
        error = text::format(tr("cannot open this thread's network namespace: %1$s"), std::strerror(errno));
      return false;
    }
  }
  session_ = LiveSession::open(so, *view_, *out_, error);
  if (home >= 0) {
    ::setns(home, CLONE_NEWNET);
    ::close(home);
  }
  return session_ != nullptr;
}

// What the capture listens to.
LiveSessionOptions Runner::capture_options() const {
  LiveSessionOptions so;
  if (lesson_.lab.on) {
    // The lab's link carries only the lesson's traffic: everything on it but what the kernel sends by
    // itself: IGMP and IPv6 multicast (MLD reports, router solicitations) and neighbour discovery
    // (ICMPv6 133-137). Not a port filter: IP fragments after the first carry no port, ARP none at all.
    so.capture.interface = lab::kClientIf;
    so.capture.filter =
        "arp or (ip and not igmp) or (ip6 and not ip6 multicast and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137))";
  } else {
    // The capture: every server's port, and ICMP (a port-unreachable answer has no port of its own).
    so.capture.interface = "lo";
    for (const auto& ep : endpoints_)
      if (ep->decl->role == Role::Server) {
        if (!so.capture.filter.empty()) so.capture.filter += " or ";
        so.capture.filter += "port " + std::to_string(demo::to_endpoint(ep->addr).port);
      }
    so.capture.filter = "(" + so.capture.filter + ") or icmp or icmp6";
  }
  so.write_path = opts_.write_path;
  so.drop_privileges = opts_.drop_privileges;
  return so;
}

// The learner's view (and the picture beside it with --svg), behind the lesson's own.
void Runner::make_views() {
  out_ = std::make_unique<OutBuffer>(opts_.out);
  ViewOptions vo = opts_.view_options;
  vo.calls = true;
  inner_ = make_view(opts_.view, *out_, vo);
  View* shown = inner_.get();
  if (!opts_.svg_path.empty()) {
    SvgOptions svo;
    svo.title = lesson_.title;
    svg_ = std::make_unique<SvgLadder>(svo);
    tee_ = std::make_unique<TeeView>(std::vector<View*>{inner_.get(), svg_.get()});
    shown = tee_.get();
  }
  view_ = std::make_unique<LessonView>(*shown, *out_, facts_, json());
}

// The endpoints' threads start before the capture opens: in the lab each steps into its host's
// namespace first, which needs root, and opening the capture may drop root (under sudo).
bool Runner::start_endpoints(std::string& error) {
  std::atomic<int> entered{0};
  std::mutex enter_mu;
  std::condition_variable all_entered;
  std::string enter_error;
  for (auto& ep : endpoints_) {
    LessonEndpoint* raw = ep.get();
    const char* ns = !lesson_.lab.on ? nullptr : raw->decl->role == Role::Server ? lab::kServerNs : lab::kClientNs;
    ep->thread = std::thread([this, raw, ns, &entered, &enter_mu, &all_entered, &enter_error] {
      std::string why;
      const bool in = ns == nullptr || lab::enter(ns, why);
      {
        std::lock_guard<std::mutex> lock(enter_mu);
        if (!in) {
          enter_error = why;
          raw->failed = true;
        }
        entered.fetch_add(1);
      }
      all_entered.notify_all();
      endpoint_loop(*raw);
    });
  }
  std::unique_lock<std::mutex> lock(enter_mu);
  all_entered.wait(lock, [&] { return entered.load() == static_cast<int>(endpoints_.size()); });
  if (enter_error.empty()) return true;
  error = text::format(tr("could not enter the lab's hosts: %1$s"), enter_error);
  return false;
}

void Runner::stop_endpoints() {
  for (auto& ep : endpoints_) {
    ep->program.reset();  // a program still running (the lesson failed to start) is stopped
    {
      std::lock_guard<std::mutex> lock(ep->mu);
      ep->quit = true;
    }
    ep->cv.notify_all();
    if (ep->thread.joinable()) ep->thread.join();
  }
}

// Each endpoint reports its calls to the live session (through the facts). Set before the first step
// is queued: the endpoint's thread reads them only after taking a step from its queue, under its mutex.
void Runner::attach_reporters() {
  for (auto& ep : endpoints_) {
    std::lock_guard<std::mutex> lock(ep->mu);
    ep->sink = std::make_unique<RecordingSink>(ep->decl->name, facts_, *session_);
    ep->hooks.calls = ep->sink.get();
    ep->hooks.out = nullptr;
    const CallRole role = ep->decl->role == Role::Server ? CallRole::Server : CallRole::Client;
    ep->rep = std::make_unique<demo::Reporter>(ep->hooks, role, ep->decl->proto);
    if (ep->decl->program()) ep->program_sink = std::make_unique<ProgramSink>(role, *ep->sink);
  }
}

// The steps after the last action (narration, quizzes, expectations) come after the capture: the recap
// can then point at every frame. Returns where they start.
std::size_t Runner::live_steps_end() const {
  std::size_t end = lesson_.steps.size();
  while (end > 0) {
    const auto k = lesson_.steps[end - 1].kind;
    if (k != Step::Kind::Narrate && k != Step::Kind::Quiz && k != Step::Kind::Expect) break;
    --end;
  }
  return end;
}

// What the lesson left open is closed after the capture: it is not part of the lesson.
void Runner::close_what_the_lesson_left_open() {
  for (auto& ep : endpoints_) {
    for (int fd : ep->old_fds) ::close(fd);
    if (ep->conn >= 0) ::close(ep->conn);
    if (ep->sock >= 0) ::close(ep->sock);
  }
}

// After the capture: the closing narration and quizzes, every expectation checked, what was saved.
void Runner::recap(const LiveSessionResult& sr, std::size_t live_end) {
  if (!sr.ok) {
    result_.error = sr.error;
    add_check(Check{0, "capture", "", false, text::format(tr("the capture failed: %s"), sr.error.c_str()), {}});
  }
  if (!json()) put("\n  " + std::string(tr("What you saw")) + "\n  " + std::string(12, '-') + "\n");
  for (std::size_t i = live_end; i < lesson_.steps.size(); ++i) do_step(lesson_.steps[i], false);
  for (const auto& st : lesson_.steps)
    if (st.kind == Step::Kind::Expect) add_check(evaluate(st));
  if (!opts_.write_path.empty() && !json() && sr.ok)
    put("\n  " + text::format(trn("Saved: %1$s (%2$llu frame, with its explanation as a comment)",
                               "Saved: %1$s (%2$llu frames, each with its explanation as a comment)", sr.written),
                           sockscope::text::printable(opts_.write_path).c_str(), static_cast<unsigned long long>(sr.written)) + "\n");
  save_picture();
}

void Runner::save_picture() {
  if (!svg_) return;
  std::string why;
  if (!svg_->write(opts_.svg_path, why)) {
    add_check(Check{0, "--svg", "", false, why, {}});
  } else if (!json()) {
    put("  " + std::string(tr("Picture:")) + " " + opts_.svg_path + "\n");
  }
}

RunResult Runner::run() {
  interactive_ = opts_.interactive;
  std::string error;
  if (lesson_.lab.on) {
    call_timeout_ms_ = kLabCallTimeoutMs;
    if (!start_lab(error)) {
      result_.error = error;
      return result_;
    }
  } else if (!have_capture_privileges()) {
    result_.error = text::format(tr("A lesson watches the packets on the loopback interface. %1$s"),
                                  privilege_hint("sockscope"));
    return result_;
  }
  if (!prepare(error)) {
    result_.error = error;
    return result_;
  }
  const LiveSessionOptions so = capture_options();
  make_views();
  if (!start_endpoints(error) || !open_session(so, error)) {
    stop_endpoints();
    result_.error = error;
    return result_;
  }
  result_.ran = true;
  intro();

  std::atomic<bool> stop{false};
  LiveSessionResult sr;
  std::thread capture([&] { sr = session_->run(stop); });
  attach_reporters();
  const std::size_t live_end = live_steps_end();
  for (std::size_t i = 0; i < live_end; ++i) do_step(lesson_.steps[i], true);
  wait_all(call_timeout_ms_ + 1000);
  for (auto& ep : endpoints_)
    if (ep->program && ep->program->started()) end_program(*ep, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(kSettleMs));
  stop.store(true);
  capture.join();
  stop_endpoints();
  close_what_the_lesson_left_open();
  recap(sr, live_end);
  report();
  session_.reset();
  if (lab_.active()) {
    std::string why;
    if (!lab_.down(why)) put("  " + std::string(tr("The lab could not be removed:")) + " " + why + "\n");
  }
  return result_;
}

}  // namespace

RunResult run_lesson(const Lesson& lesson, const RunOptions& opts) {
  Runner r(lesson, opts);
  return r.run();
}

}  // namespace sockscope::lesson
