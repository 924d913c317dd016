#include "cmd_chat.hpp"

#include "cmd_demo.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <sstream>

namespace sockscope::cli {

namespace {

// Set by SIGINT and SIGTERM: the chat closes its sockets (and reports the close() calls) and ends.
std::atomic<bool> g_chat_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void on_chat_signal(int) { g_chat_stop.store(true); }

void install_chat_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_chat_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() and connect() return at once with EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // The endpoints send with MSG_NOSIGNAL; a closed stdout must not kill us before the close() calls.
  signal(SIGPIPE, SIG_IGN);
}

const char* kHint = SOCKSCOPE_N_("See sockscope help chat");

}  // namespace

void CallPrinter::on_call(const CallRecord& call) {
  // Only returned calls: the line shows the result (a blocking call's start is for the timeline).
  if (!call.returned) return;
  std::string line;
  describe_call(call, line, true);
  std::lock_guard<std::mutex> lock(m_);
  const std::string who = text::pad_right(call.endpoint == CallRole::Server ? tr("server") : tr("client"), 7);
  std::fprintf(f_, "%s %s\n", who.c_str(), line.c_str());
  std::fflush(f_);
}

po::options_description chat_options() {
  po::options_description d(tr("Options of sockscope chat"), 100, 50);
  d.add_options()
      ("host", po::value<std::string>()->value_name("H")->default_value("127.0.0.1"),
       tr("server: the address to listen on; client: the server to reach (IPv4 or IPv6, e.g. ::1)"))
      ("port", po::value<unsigned>()->value_name("P")->default_value(9000),
       tr("the server's port (a server may use 0: the kernel chooses, the first line says which)"))
      ("say", po::value<std::vector<std::string>>()->value_name("TEXT")->composing(),
       tr("a line to send (repeat for more); 'Q' ends the chat, 'sleep MS' pauses"))
      ("script", po::value<std::string>()->value_name("FILE"),
       tr("more lines to send, one per line (# starts a comment)"))
      ("gap-ms", po::value<int>()->value_name("N")->default_value(0),
       tr("pause between scripted lines, in milliseconds"))
      ("reply", tr("server: answer each line a client sends with the next --say line"))
      ("half-close", tr("TCP client: at the end shutdown(SHUT_WR), then read until the server closes"))
      ("framing", po::value<std::string>()->value_name("HOW")->default_value("line"),
       tr("TCP: 'line' ends each message with a newline; 'recv' takes each recv() as one message and sends "
          "no newline, as simple tutorial programs do (it holds only for small messages sent in turns)"))
      ("server-closes-after", po::value<int>()->value_name("N")->default_value(0),
       tr("TCP server: close a client's connection after N replies (the server closes first)"))
      ("max-clients", po::value<unsigned>()->value_name("N")->default_value(64),
       tr("server: the most clients at once; one more is told the room is full"))
      ("max-line", po::value<unsigned>()->value_name("N")->default_value(4096),
       tr("server: longer lines are cut and the client is warned"))
      ("idle-timeout", po::value<int>()->value_name("S")->default_value(600),
       tr("server: close a client that said nothing for S seconds"))
      ("max-queue", po::value<unsigned>()->value_name("BYTES")->default_value(256 * 1024),
       tr("TCP server: bytes that may wait for a client that reads slowly; past them the room waits for it, and disconnects it if it reads nothing for 3 s"))
      ("backlog", po::value<int>()->value_name("N")->default_value(16),
       tr("TCP server: listen() backlog, connections the kernel completes before accept() takes them"))
      ("timeout-ms", po::value<int>()->value_name("MS")->default_value(10000),
       tr("client: give up connect() or a half-close after this long"))
      ("quiet,q", tr("do not print the socket calls on standard error"))
      ("help,h", tr("show this help"));
  return d;
}

int chat_options_from(const po::variables_map& vm, demo::ChatOptions& opts) {
  const char* hint = tr(kHint);
  if (!vm.count("kind"))
    return usage_error("chat", tr("which endpoint? tcp-server, tcp-client, udp-server or udp-client"), hint);
  const std::string kind = vm["kind"].as<std::string>();
  if (kind == "tcp-server") {
    opts.kind = demo::ChatKind::TcpServer;
  } else if (kind == "tcp-client") {
    opts.kind = demo::ChatKind::TcpClient;
  } else if (kind == "udp-server") {
    opts.kind = demo::ChatKind::UdpServer;
  } else if (kind == "udp-client") {
    opts.kind = demo::ChatKind::UdpClient;
  } else {
    return usage_error("chat", text::format(tr("no endpoint named '%s': use tcp-server, tcp-client, udp-server or udp-client"), kind.c_str()),
                       hint);
  }
  const bool server = opts.kind == demo::ChatKind::TcpServer || opts.kind == demo::ChatKind::UdpServer;
  const bool tcp = opts.kind == demo::ChatKind::TcpServer || opts.kind == demo::ChatKind::TcpClient;

  opts.host = vm["host"].as<std::string>();
  const unsigned port = vm["port"].as<unsigned>();
  if (port > 65535) return usage_error("chat", tr("a port is a number from 0 to 65535"), hint);
  if (port == 0 && !server) return usage_error("chat", tr("a client needs the server's port, e.g. --port 9000"), hint);
  opts.port = static_cast<std::uint16_t>(port);
  if (vm.count("say")) opts.say = vm["say"].as<std::vector<std::string>>();
  if (vm.count("script")) opts.script_path = vm["script"].as<std::string>();
  // Nothing scripted: the lines come from standard input (typed at a terminal, or piped).
  opts.read_stdin = opts.say.empty() && opts.script_path.empty();

  opts.line_gap_ms = vm["gap-ms"].as<int>();
  if (opts.line_gap_ms < 0 || opts.line_gap_ms > 3600000)
    return usage_error("chat", tr("--gap-ms takes 0 to 3600000"), hint);
  opts.reply_per_line = vm.count("reply") > 0;
  if (opts.reply_per_line && !server) return usage_error("chat", tr("--reply is for a server"), hint);
  opts.half_close = vm.count("half-close") > 0;
  const std::string framing = vm["framing"].as<std::string>();
  if (framing != "line" && framing != "recv")
    return usage_error("chat", text::format(tr("--framing takes line or recv, not '%1$s'"), framing), hint);
  if (framing == "recv" && !tcp)
    return usage_error("chat", tr("--framing is for TCP: a UDP datagram is always one message"), hint);
  opts.frame_by_recv = framing == "recv";
  if (opts.half_close && (server || !tcp)) return usage_error("chat", tr("--half-close is for a TCP client"), hint);
  opts.server_closes_after = vm["server-closes-after"].as<int>();
  if (opts.server_closes_after < 0) return usage_error("chat", tr("--server-closes-after takes 0 or more"), hint);
  if (opts.server_closes_after > 0 && opts.kind != demo::ChatKind::TcpServer)
    return usage_error("chat", tr("--server-closes-after is for a TCP server"), hint);
  const unsigned max_clients = vm["max-clients"].as<unsigned>();
  const unsigned max_line = vm["max-line"].as<unsigned>();
  if (max_clients == 0 || max_clients > 10000) return usage_error("chat", tr("--max-clients takes 1 to 10000"), hint);
  if (max_line == 0 || max_line > 1000000) return usage_error("chat", tr("--max-line takes 1 to 1000000"), hint);
  opts.max_clients = max_clients;
  opts.max_line = max_line;
  opts.idle_timeout_s = vm["idle-timeout"].as<int>();
  if (opts.idle_timeout_s <= 0) return usage_error("chat", tr("--idle-timeout takes 1 or more seconds"), hint);
  const unsigned max_queue = vm["max-queue"].as<unsigned>();
  // The queue holds at least one whole line with its "[address] " label in front.
  if (max_queue < max_line + 64u || max_queue > (1u << 30))
    return usage_error("chat", tr("--max-queue takes --max-line + 64 to 1073741824 bytes"), hint);
  opts.max_queue = max_queue;
  opts.backlog = vm["backlog"].as<int>();
  if (opts.backlog < 1 || opts.backlog > 65535) return usage_error("chat", tr("--backlog takes 1 to 65535"), hint);
  if ((!vm["max-queue"].defaulted() || !vm["backlog"].defaulted()) && opts.kind != demo::ChatKind::TcpServer)
    return usage_error("chat", tr("--max-queue and --backlog are for a TCP server"), hint);
  opts.timeout_ms = vm["timeout-ms"].as<int>();
  if (opts.timeout_ms <= 0 || opts.timeout_ms > 600000)
    return usage_error("chat", tr("--timeout-ms takes 1 to 600000"), hint);
  return kExitOk;
}

void print_chat_help(std::FILE* out) {
  HelpWriter f(out);
  std::fprintf(f, "%s\n\n", tr("sockscope chat KIND: a TCP or UDP chat on the plain socket API, showing every call it makes."));
  std::fprintf(f, "%s\n", tr("KIND is tcp-server, tcp-client, udp-server or udp-client. Two terminals:"));
  std::fprintf(f, "  sockscope chat tcp-server --port 9000\n  sockscope chat tcp-client --port 9000\n");
  std::fprintf(f, "%s\n", tr("Type a line and Enter to send it; Q alone quits. The TCP server is a chat room: each"));
  std::fprintf(f, "%s\n", tr("client's line goes to the other clients. Socket calls go to standard error, messages to"));
  std::fprintf(f, "%s\n", tr("standard output. Without --say or --script, lines are read from standard input."));
  std::fprintf(f, "%s\n\n", tr("Exit status: 0 done, 1 a socket call failed, 2 bad usage."));
  std::ostringstream os;
  os << options_help(chat_options()) << '\n' << options_help(trace_options());
  std::fputs(os.str().c_str(), f);
}

int cmd_chat(const std::vector<std::string>& args) {
  po::options_description d = chat_options();
  po::options_description all;
  all.add(d).add(trace_options()).add_options()("kind", po::value<std::string>());
  po::positional_options_description pos;
  pos.add("kind", 1);
  po::variables_map vm;
  if (!parse("chat", args, all, pos, vm)) return kExitUsage;
  if (vm.count("help")) {
    print_chat_help(stdout);
    return kExitOk;
  }
  demo::ChatOptions opts;
  if (const int rc = chat_options_from(vm, opts); rc != kExitOk) return rc;

  CallPrinter printer(stderr);
  // A live capture beside the chat: its calls and packets on one timeline (cmd_demo.cpp).
  if (vm.count("trace")) {
    install_chat_handlers();
    return run_traced_chat(opts, vm, g_chat_stop, vm.count("quiet") ? nullptr : &printer);
  }
  if (vm.count("json") || vm.count("ladder") || vm.count("osi") || vm.count("write") || vm.count("user"))
    return usage_error("chat", tr("--json, --ladder, --osi, -w and --user go with --trace"), tr(kHint));
  demo::ChatHooks hooks;
  hooks.calls = vm.count("quiet") ? nullptr : &printer;
  hooks.out = stdout;
  hooks.stop = &g_chat_stop;
  install_chat_handlers();
  const int rc = demo::run_chat(opts, hooks);
  return rc == 0 ? kExitOk : rc == 2 ? kExitUsage : kExitFailed;
}

}  // namespace sockscope::cli
