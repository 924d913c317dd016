#include "sockscope/text/format.hpp"
// sockscope demo tcp|udp: the embedded first run. A chat server and a chat client talk on loopback in
// two threads while a live capture watches their port; every socket call and every packet lands on
// one timeline, explained. Before it, what to look for; after it, what happened, by frame number.
//
// Order matters: the capture is open (active in the kernel) before the server makes its first call, so
// no SYN is missed; the client starts only once the server listens; the capture stops only after both
// endpoints are done and the last ACK had time to arrive.
#include "cmd_demo.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "sockscope/demo/chat.hpp"
#include "sockscope/demo/socket_calls.hpp"
#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/pcap/live_session.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/views/views.hpp"

namespace sockscope::cli {
namespace {

using ull = unsigned long long;

// Set by SIGINT/SIGTERM and by the demo itself when the client is done: both endpoints stop.
std::atomic<bool> g_chat_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void on_demo_signal(int) { g_chat_stop.store(true); }

po::options_description demo_options() {
  po::options_description d(tr("Options of sockscope demo tcp|udp"), 100, 50);
  d.add_options()
      ("messages", po::value<int>()->value_name("N")->default_value(3),
       tr("how many lines the client sends (the server answers each)"))
      ("port", po::value<unsigned>()->value_name("P")->default_value(0),
       tr("the server's port (0: any free port)"))
      ("json", tr("one JSON object per line: packets, calls, then conversations"))
      ("ladder", tr("three columns: client calls | packets on the wire | server calls"))
      ("osi", tr("under every packet, its headers layer by layer (OSI 2 to 7)"))
      ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       tr("colour: auto (on a terminal, unless NO_COLOR is set), always or never"))
      ("write,w", po::value<std::string>()->value_name("FILE"),
       tr("also save the capture: FILE.pcapng keeps each packet's explanation as a comment (Wireshark)"))
      ("half-close", tr("TCP: the client shuts down its sending side first and reads until the server closes"))
      ("server-closes", tr("TCP: the server closes the connection after its last answer"))
      ("help,h", tr("show this help"));
  return d;
}

// What the endpoints say. The client's lines first, then the server's answers, one per line.
std::string client_line(int i) {
  static const char* const kLines[] = {"hello", "how are you?", "what is TCP?", "bye for now"};
  if (i < 4) return kLines[i];
  return "message " + std::to_string(i + 1);
}
std::string server_line(int i) {
  static const char* const kLines[] = {"hi, got it", "fine, thanks", "a reliable byte stream", "bye!"};
  if (i < 4) return kLines[i];
  return "got message " + std::to_string(i + 1);
}

// Passes everything to the chosen view and remembers what the recap needs: where the blocking calls
// returned (after which frame), how many data segments and ACKs, the conversations' summaries.
// Called only from the thread that runs the live session.
class RecapView final : public View {
 public:
  explicit RecapView(View& inner) : inner_(inner) {}

  void packet(const Packet& p, const Annotation& a) override {
    last_frame_ = p.frame;
    if (a.events.has(Event::Data)) ++data_segments_;
    if (a.events.has(Event::Ack)) ++acks_;
    if (a.events.has(Event::Teardown1) && first_fin_ == 0) {
      first_fin_ = p.frame;
      first_closer_ = a.dir == Direction::S2C ? CallRole::Server : CallRole::Client;
    }
    if (a.events.has(Event::Datagram)) {
      if (datagrams_ == 0) first_datagram_ = p.frame;
      last_datagram_ = p.frame;
      ++datagrams_;
    }
    inner_.packet(p, a);
  }

  void call(const CallRecord& c, std::uint32_t conn) override {
    if (c.returned && c.result >= 0) {
      const bool client = c.endpoint == CallRole::Client;
      const CallKind kind = call_kind(c.call);
      if (kind == CallKind::Connect && client && connect_after_ == 0) connect_after_ = last_frame_;
      if (kind == CallKind::Accept && !client && accept_after_ == 0) accept_after_ = last_frame_;
      if (kind == CallKind::Send && c.proto == Proto::Udp) ++sendtos_;
      // The close of the connection's socket (conn != 0), not of the listening one.
      std::string& state = client ? client_close_state_ : server_close_state_;
      if (kind == CallKind::Close && conn != 0 && state.empty()) state = c.kernel_state;
    }
    inner_.call(c, conn);
  }

  void conversation(const ConnSummary& s) override {
    conversations_.push_back(s);
    inner_.conversation(s);
  }
  void finish() override { inner_.finish(); }

  std::uint64_t last_frame_ = 0, connect_after_ = 0, accept_after_ = 0;
  std::uint64_t data_segments_ = 0, acks_ = 0, datagrams_ = 0, first_datagram_ = 0, last_datagram_ = 0;
  std::uint64_t sendtos_ = 0;
  std::uint64_t first_fin_ = 0;
  CallRole first_closer_ = CallRole::Client;  // who sent the first FIN (when first_fin_ != 0)
  std::string client_close_state_, server_close_state_;
  std::vector<ConnSummary> conversations_;

 private:
  View& inner_;
};

template <std::size_t N>
std::string frame_list(const std::array<std::uint64_t, N>& frames, std::size_t count) {
  std::string s;
  for (std::size_t i = 0; i < count && i < N; ++i) {
    if (i) s += ", ";
    s += std::to_string(frames[i]);
  }
  return s;
}

void intro(OutBuffer& out, bool tcp, std::uint16_t port) {
  std::string s;
  if (tcp) {
    s += text::format(tr("sockscope demo: a TCP chat server and client on 127.0.0.1 port %u, and a live capture of "
                   "everything between them."),
                static_cast<unsigned>(port));
    s += '\n';
    s += tr("Below, in time order: each socket call (client left, server right) and the packets it caused.");
    s += '\n';
    s += tr("Watch connect() start the handshake, accept() return after it, each send() become a data segment "
            "and an ACK, and close() send a FIN.");
  } else {
    s += text::format(tr("sockscope demo: a UDP chat server and client on 127.0.0.1 port %u, and a live capture of "
                   "everything between them."),
                static_cast<unsigned>(port));
    s += '\n';
    s += tr("Below, in time order: each socket call (client left, server right) and the packets it caused.");
    s += '\n';
    s += tr("Watch each sendto() become exactly one datagram: no handshake, no ACK, nothing to close on the wire.");
  }
  s += "\n\n";
  out.put(s);
  out.flush();
}

void recap(OutBuffer& out, bool tcp, const RecapView& r) {
  std::string s = "\n";
  s += tr("What you saw:");
  s += '\n';
  const ConnSummary* conv = nullptr;
  for (const auto& c : r.conversations_)
    if (c.proto == (tcp ? Proto::Tcp : Proto::Udp)) {
      conv = &c;
      break;
    }
  if (tcp && conv) {
    if (conv->handshake_complete) {
      s += "  ";
      s += text::format(tr("frames %s: the three-way handshake (SYN, SYN-ACK, ACK)."),
                  frame_list(conv->handshake_frames, conv->handshake_frame_count).c_str());
      if (r.connect_after_ && r.accept_after_)
        s += ' ' + text::format(tr("connect() returned after frame %1$llu, accept() after frame %2$llu."),
                          static_cast<ull>(r.connect_after_), static_cast<ull>(r.accept_after_));
      s += '\n';
    }
    s += "  ";
    s += text::format(tr("%1$llu segments carried the lines (%2$llu bytes from the client, %3$llu from the server); "
                   "%4$llu segments acknowledged bytes (ACK)."),
                static_cast<ull>(r.data_segments_), static_cast<ull>(conv->bytes_c2s),
                static_cast<ull>(conv->bytes_s2c), static_cast<ull>(r.acks_));
    s += '\n';
    if (conv->close_frame_count > 0) {
      s += "  ";
      s += text::format(tr("frames %1$s: the close (%2$s)."), frame_list(conv->close_frames, conv->close_frame_count).c_str(),
                  close_kind_name(conv->close));
      if (r.first_fin_ != 0)
        s += ' ' + text::format(r.first_closer_ == CallRole::Client ? tr("The client closed first: its FIN is frame %llu.")
                                                              : tr("The server closed first: its FIN is frame %llu."),
                          static_cast<ull>(r.first_fin_));
      s += '\n';
    }
    if (!r.client_close_state_.empty() && !r.server_close_state_.empty()) {
      s += "  ";
      s += text::format(tr("Right after close(), the kernel said: client %1$s, server %2$s."), r.client_close_state_.c_str(),
                  r.server_close_state_.c_str());
      s += '\n';
    }
    // Asked now, after the demo: the side that closed first is still in the kernel's socket table.
    const std::string client_now = demo::tcp_state_by_tuple(conv->client, conv->server);
    const std::string server_now = demo::tcp_state_by_tuple(conv->server, conv->client);
    const bool client_waits = client_now == "TIME-WAIT", server_waits = server_now == "TIME-WAIT";
    if (client_waits || server_waits) {
      s += "  ";
      s += text::format(client_waits ? tr("Now the kernel still holds the client's side in TIME-WAIT (60 s on Linux): the "
                                    "side that closes first waits (RFC 9293, 3.6), so a late segment cannot "
                                    "confuse a new connection on the same ports.")
                               : tr("Now the kernel still holds the server's side in TIME-WAIT (60 s on Linux): the "
                                    "side that closes first waits (RFC 9293, 3.6), so a late segment cannot "
                                    "confuse a new connection on the same ports."));
      s += '\n';
    }
  } else if (!tcp && r.datagrams_ > 0) {
    s += "  ";
    s += text::format(tr("frames %1$llu to %2$llu: %3$llu datagrams for %4$llu sendto() calls, one each; no handshake before "
                   "them, no ACK after them, nothing to close on the wire."),
                static_cast<ull>(r.first_datagram_), static_cast<ull>(r.last_datagram_),
                static_cast<ull>(r.datagrams_), static_cast<ull>(r.sendtos_));
    s += '\n';
  } else {
    s += "  ";
    s += tr("no conversation was captured: see the failed call above, and why on standard error.");
    s += '\n';
  }
  s += tr("Try --ladder for the three-column diagram, --osi for every header, or -w demo.pcapng to open it in "
          "Wireshark.");
  s += '\n';
  out.put(s);
  out.flush();
}

// The server tells the demo when it listens (or is bound, for UDP): then the client may start.
struct Ready {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  static void on_ready(void* ctx, const Endpoint&) {
    auto* self = static_cast<Ready*>(ctx);
    {
      std::lock_guard<std::mutex> lock(self->m);
      self->ready = true;
    }
    self->cv.notify_all();
  }
};

// Copies what an endpoint printed (kept aside during the demo) to stderr, when it failed.
void replay(std::FILE* f, const char* who) {
  if (!f) return;
  std::rewind(f);
  char buf[4096];
  std::size_t n;
  std::fprintf(stderr, "sockscope demo: %s:\n", who);
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) std::fwrite(buf, 1, n, stderr);
}

// The view of a live timeline from --json, --ladder, --osi and --color (demo and chat --trace).
int timeline_view_from(const po::variables_map& vm, const char* cmd, const char* hint, ViewOptions& vo,
                       ViewKind& kind) {
  if (const int rc = view_from(vm, cmd, hint, kind, vo); rc != kExitOk) return rc;
  vo.calls = true;
  return kExitOk;
}

void print_help_text(std::FILE* f) {
  std::fprintf(f, "%s\n\n", tr("sockscope demo tcp|udp: a chat server and a client talk on loopback while sockscope "
                               "captures them: socket calls and packets on one timeline, explained."));
  std::fprintf(f, "%s\n", tr("TCP: connect, the three-way handshake, each line and its ACK, the close and TIME-WAIT."));
  std::fprintf(f, "%s\n", tr("UDP: one datagram per sendto(), nothing else."));
  std::fprintf(f, "%s\n\n", tr("Needs root or CAP_NET_RAW for the capture (sudo sockscope demo tcp)."));
}

}  // namespace

void print_demo_help(std::FILE* out) {
  HelpWriter f(out);
  print_help_text(f);
  std::ostringstream os;
  os << options_help(demo_options());
  std::fputs(os.str().c_str(), f);
}

namespace {

// What `sockscope demo` was asked for.
struct DemoRequest {
  bool tcp = true;
  int messages = 3;
  unsigned port = 0;
  bool half_close = false, server_closes = false;
  std::string write_path;
  ViewKind kind = ViewKind::Human;
  ViewOptions vo;
};

// Reads the command line into r. Returns kExitOk, or prints one line and returns the exit status
// (kExitUsage; kExitOk with help printed is returned as -1: nothing more to do).
int read_demo_request(const std::vector<std::string>& args, DemoRequest& r) {
  po::options_description d = demo_options();
  po::options_description all;
  all.add(d).add_options()("kind", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("kind", -1);
  po::variables_map vm;
  if (!parse("demo", args, all, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_demo_help(stdout);
    return -1;
  }
  const char* hint = tr("See sockscope help demo");
  if (!vm.count("kind"))
    return usage_error("demo", tr("which demo? sockscope demo tcp, or sockscope demo udp"), hint);
  const auto& kinds = vm["kind"].as<std::vector<std::string>>();
  if (kinds.size() != 1)
    return usage_error("demo", tr("one demo at a time: sockscope demo tcp, or sockscope demo udp"), hint);
  if (kinds[0] != "tcp" && kinds[0] != "udp")
    return usage_error("demo", text::format(tr("the demo is tcp or udp, not '%1$s'"), kinds[0]), hint);
  r.tcp = kinds[0] == "tcp";
  r.messages = vm["messages"].as<int>();
  if (r.messages < 1 || r.messages > 1000) return usage_error("demo", tr("--messages takes 1 to 1000"), hint);
  r.port = vm["port"].as<unsigned>();
  if (r.port > 65535) return usage_error("demo", tr("a port is a number from 0 to 65535"), hint);
  r.half_close = vm.count("half-close") > 0;
  r.server_closes = vm.count("server-closes") > 0;
  if (!r.tcp && (r.half_close || r.server_closes))
    return usage_error("demo", tr("--half-close and --server-closes are about closing a TCP connection; UDP has none"),
                       hint);
  if (r.half_close && r.server_closes)
    return usage_error("demo", tr("choose one of --half-close and --server-closes"), hint);
  if (vm.count("write")) r.write_path = vm["write"].as<std::string>();
  return timeline_view_from(vm, "demo", hint, r.vo, r.kind);
}

// The port the demo talks on: the one asked for, else a free one on 127.0.0.1 (0 when there is none).
std::uint16_t demo_port(const DemoRequest& r, std::string& error) {
  if (r.port != 0) return static_cast<std::uint16_t>(r.port);
  const int type = r.tcp ? SOCK_STREAM : SOCK_DGRAM;
  demo::SockAddr loopback;
  if (!demo::resolve("127.0.0.1", 0, type, loopback, error)) return 0;
  return demo::free_port(loopback, type, error);
}

// The server answers each line with its own; the client says its lines 30 ms apart, so each line and
// its answer are a small exchange of their own on the timeline (and Nagle's algorithm, RFC 896, never
// merges two lines into one segment).
demo::ChatOptions demo_server(const DemoRequest& r, std::uint16_t port) {
  demo::ChatOptions server;
  server.kind = r.tcp ? demo::ChatKind::TcpServer : demo::ChatKind::UdpServer;
  server.host = "127.0.0.1";
  server.port = port;
  server.reply_per_line = true;
  for (int i = 0; i < r.messages; ++i) server.say.push_back(server_line(i));
  if (r.server_closes) server.server_closes_after = r.messages;
  server.timeout_ms = 5000;
  return server;
}

demo::ChatOptions demo_client(const DemoRequest& r, std::uint16_t port) {
  demo::ChatOptions client;
  client.kind = r.tcp ? demo::ChatKind::TcpClient : demo::ChatKind::UdpClient;
  client.host = "127.0.0.1";
  client.port = port;
  for (int i = 0; i < r.messages; ++i) client.say.push_back(client_line(i));
  client.line_gap_ms = 30;
  client.linger_ms = 200;
  client.half_close = r.half_close;
  client.timeout_ms = 5000;
  return client;
}

// How the two endpoints ended. Their own words (what arrived, notices) are kept aside in files: the
// timeline already shows them, and they are replayed only to explain a failure.
struct DemoEndpoints {
  int server_rc = -1, client_rc = -1;
  bool server_never_ready = false;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> server_out{std::tmpfile(), std::fclose};
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> client_out{std::tmpfile(), std::fclose};
};

// Runs the server, then (once it listens) the client, reporting their calls to the session; sets stop
// when both are done and the last packets had time to reach the capture.
void run_demo_endpoints(const demo::ChatOptions& server, const demo::ChatOptions& client, CallSink& calls,
                        DemoEndpoints& e, std::atomic<bool>& stop) {
  demo::ChatHooks sh;
  sh.calls = &calls;
  sh.out = e.server_out ? e.server_out.get() : stderr;
  sh.stop = &g_chat_stop;
  Ready ready;
  sh.on_ready = &Ready::on_ready;
  sh.ready_ctx = &ready;
  std::atomic<bool> server_done{false};
  std::thread server_thread([&] {
    e.server_rc = demo::run_chat(server, sh);
    server_done.store(true);
    ready.cv.notify_all();
  });
  bool go = false;
  {
    std::unique_lock<std::mutex> lock(ready.m);
    ready.cv.wait_for(lock, std::chrono::seconds(5), [&] { return ready.ready || server_done.load(); });
    go = ready.ready;
  }
  if (go && !g_chat_stop.load()) {
    demo::ChatHooks ch;
    ch.calls = &calls;
    ch.out = e.client_out ? e.client_out.get() : stderr;
    ch.stop = &g_chat_stop;
    e.client_rc = demo::run_chat(client, ch);
    // The server sees the client's FIN (recv() = 0) and closes its side: give it a moment before
    // asking it to stop listening.
    for (int i = 0; i < 20 && !server_done.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } else {
    e.server_never_ready = !go;
  }
  g_chat_stop.store(true);
  server_thread.join();
  // The last packets (the final ACK of the teardown) may still be on their way to the capture.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop.store(true);
}

// The exit status, with what went wrong said on standard error.
int demo_exit_status(const LiveSessionResult& result, const DemoEndpoints& e) {
  int rc = kExitOk;
  if (!result.ok) {
    std::fprintf(stderr, "sockscope demo: %s\n", result.error.c_str());
    rc = kExitFailed;
  }
  if (e.server_never_ready) {
    replay(e.server_out.get(), tr("the server did not start"));
    rc = kExitFailed;
  } else if (e.server_rc != 0 && e.server_rc != -1) {
    replay(e.server_out.get(), tr("the server failed"));
    rc = kExitFailed;
  }
  if (e.client_rc > 0) {
    replay(e.client_out.get(), tr("the client failed"));
    rc = kExitFailed;
  }
  return rc;
}

}  // namespace

int cmd_demo(const std::vector<std::string>& args) {
  DemoRequest r;
  if (const int rc = read_demo_request(args, r); rc != kExitOk) return rc < 0 ? kExitOk : rc;
  const bool chatty = r.kind != ViewKind::Json;  // JSON output is JSON lines only
  if (!have_capture_privileges()) {
    std::fprintf(stderr, "sockscope demo: %s %s\n", tr("the demo watches the packets on the loopback interface."),
                 privilege_hint(self_path()).c_str());
    return kExitFailed;
  }
  std::string error;
  const std::uint16_t port = demo_port(r, error);
  if (port == 0) {
    std::fprintf(stderr, "sockscope demo: %s\n",
                 text::format(tr("could not find a free port on 127.0.0.1: %1$s"), error).c_str());
    return kExitFailed;
  }

  // The capture first: when open() returns, the kernel already filters and queues packets of the port.
  LiveSessionOptions so;
  so.capture.interface = "lo";
  so.capture.filter = "port " + std::to_string(port);
  so.write_path = r.write_path;
  OutBuffer out(stdout);
  auto inner = make_view(r.kind, out, r.vo);
  RecapView view(*inner);
  auto session = LiveSession::open(so, view, out, error);
  if (!session) {
    std::fprintf(stderr, "sockscope demo: %s\n", error.c_str());
    return kExitFailed;
  }
  if (chatty) intro(out, r.tcp, port);

  struct sigaction sa {};
  sa.sa_handler = on_demo_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  g_chat_stop.store(false);

  std::atomic<bool> stop{false};
  DemoEndpoints endpoints;
  const demo::ChatOptions server = demo_server(r, port), client = demo_client(r, port);
  std::thread coordinator([&] { run_demo_endpoints(server, client, *session, endpoints, stop); });
  const LiveSessionResult result = session->run(stop);
  coordinator.join();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);

  if (chatty && result.ok) recap(out, r.tcp, view);
  out.flush();
  session.reset();
  return demo_exit_status(result, endpoints);
}

}  // namespace sockscope::cli

namespace sockscope::cli {

po::options_description trace_options() {
  po::options_description d(tr("Tracing (sockscope chat ... --trace)"), 100, 50);
  d.add_options()
      ("trace", tr("capture the chat's packets and show them with its socket calls on one timeline "
                   "(needs root or CAP_NET_RAW)"))
      ("json", tr("with --trace: JSON lines (packets, calls, conversations); messages go to standard error"))
      ("ladder", tr("with --trace: three columns, client calls | packets | server calls"))
      ("osi", tr("with --trace: under every packet, its headers layer by layer"))
      ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       tr("with --trace: colour auto, always or never"))
      ("write,w", po::value<std::string>()->value_name("FILE"),
       tr("with --trace: also save the capture (FILE.pcapng keeps the explanations as comments)"))
      ("user", po::value<std::string>()->value_name("USER"),
       tr("with --trace under sudo: the user to continue as once the capture is open (default: yours)"));
  return d;
}

int run_traced_chat(const demo::ChatOptions& opts, const po::variables_map& vm, std::atomic<bool>& stop,
                    CallSink* untraced_calls) {
  const char* hint = tr("See sockscope help chat");
  const bool server = opts.kind == demo::ChatKind::TcpServer || opts.kind == demo::ChatKind::UdpServer;
  ViewOptions vo;
  ViewKind kind = ViewKind::Human;
  if (const int rc = timeline_view_from(vm, "chat", hint, vo, kind); rc != kExitOk) return rc;
  if (opts.port == 0)
    return usage_error("chat", tr("--trace watches one port: give the server's port with --port (not 0)"), hint);

  demo::ChatHooks hooks;
  hooks.stop = &stop;
  // JSON lines on standard output stay JSON: the chat's own words go to standard error then.
  hooks.out = kind == ViewKind::Json ? stderr : stdout;

  auto untraced = [&](const std::string& why) {
    std::fprintf(stderr, "sockscope chat: --trace: %s %s\n", why.c_str(), tr("The chat runs without the trace."));
    hooks.calls = untraced_calls;
    const int rc = demo::run_chat(opts, hooks);
    return rc == 0 ? kExitOk : rc == 2 ? kExitUsage : kExitFailed;
  };
  if (!have_capture_privileges()) return untraced(privilege_hint(self_path()));

  // A server listening on every address (0.0.0.0, ::) hears clients on any interface.
  std::string error;
  LiveSessionOptions so;
  if (server && (opts.host.empty() || opts.host == "0.0.0.0" || opts.host == "::"))
    so.capture.interface = "any";
  else
    so.capture.interface = interface_for(opts.host, error);
  if (so.capture.interface.empty()) return untraced(error);
  so.capture.filter = "port " + std::to_string(opts.port);
  if (vm.count("write")) so.write_path = vm["write"].as<std::string>();
  if (vm.count("user")) so.user = vm["user"].as<std::string>();

  OutBuffer out(stdout);
  auto view = make_view(kind, out, vo);
  // Open before the chat's first call: when open() returns, the kernel already keeps the port's packets.
  auto session = LiveSession::open(so, *view, out, error);
  if (!session) return untraced(error);
  if (!session->warning().empty()) std::fprintf(stderr, "sockscope chat: --trace: %s\n", session->warning().c_str());

  std::atomic<bool> session_stop{false};
  LiveSessionResult result;
  std::thread capture([&] { result = session->run(session_stop); });
  hooks.calls = session.get();
  const int chat_rc = demo::run_chat(opts, hooks);
  // The last packets (the ACK of our FIN) are still on their way when the chat returns.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  session_stop.store(true);
  capture.join();
  session.reset();
  if (!result.ok) std::fprintf(stderr, "sockscope chat: --trace: %s\n", result.error.c_str());
  if (chat_rc != 0) return chat_rc == 2 ? kExitUsage : kExitFailed;
  return result.ok ? kExitOk : kExitFailed;
}

}  // namespace sockscope::cli
