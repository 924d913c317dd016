// sockscope compare: the same numbered conversation over TCP, then over UDP, each with its own live
// capture, measured from the capture (packets by role, header and payload bytes per OSI layer) and
// from the programs' own calls (what the server received, when the first byte arrived).
//
// Order of one protocol's run (the same as the demo's, for the same reasons):
//   1. the server thread creates, binds (port 0: the kernel picks a free port) and, for TCP, listens;
//   2. the capture is opened on that port: when LiveSession::open() returns the kernel already keeps
//      the port's packets, so the client's first packet cannot be missed;
//   3. the client thread runs: socket, (connect,) N messages, close;
//   4. when both are done the capture runs a little longer (the last ACK is still on its way), then
//      stops, and the figures are read from what it saw.
// With --lab the server thread lives in the server host's network namespace, the client thread and
// the capture in the client host's (lab.hpp); the capture watches the client's end of the cable, so
// it sees every packet the client sends, also the ones the loss rule drops after they left.
// Steps 1 and 2 (and the client thread's move into its host) need root: they are done for both
// protocols first, then root is given up, then step 3 on runs for TCP and then for UDP (run()).
#include "sockscope/lessons/compare.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/annotate/calls.hpp"
#include "sockscope/demo/chat.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/lessons/lab.hpp"
#include "sockscope/pcap/live_capture.hpp"
#include "sockscope/pcap/live_session.hpp"
#include "sockscope/views/out_buffer.hpp"
#include "sockscope/demo/socket_calls.hpp"

#include "compare_internal.hpp"

namespace sockscope::compare {

namespace {

using namespace detail;
using ull = unsigned long long;

class ForwardSink final : public CallSink {
 public:
  void on_call(const CallRecord& c) override {
    std::lock_guard<std::mutex> lock(m_);
    if (target_ != nullptr)
      target_->on_call(c);
    else if (!detached_)
      pending_.push_back(c);
  }
  void attach(CallSink* t) {
    std::lock_guard<std::mutex> lock(m_);
    target_ = t;
    for (const CallRecord& c : pending_) t->on_call(c);
    pending_.clear();
  }
  void detach() {
    std::lock_guard<std::mutex> lock(m_);
    target_ = nullptr;
    detached_ = true;
  }

 private:
  std::mutex m_;
  CallSink* target_ = nullptr;
  bool detached_ = false;
  std::vector<CallRecord> pending_;
};

// One packet as the text ladder shows it.
struct LadderItem {
  std::uint64_t frame = 0;
  bool to_server = true;
  std::string label;
  int number = 0;          // UDP: the message number the datagram carries (0: none readable)
};

// Counts packets by role and header bytes by layer, and keeps one short line per packet.
class Measure final : public View {
 public:
  void packet(const Packet& p, const Annotation& a) override {
    // Once a run (one system call): root was given up before the capture was read, for good.
    if (fig.pk_total++ == 0) first_euid = static_cast<std::int64_t>(geteuid());
    const EventSet& ev = a.events;
    // One role per packet, the first that fits (compare.hpp).
    if (ev.has(Event::Retransmission))
      ++fig.pk_retransmission;
    else if (ev.has(Event::Handshake1) || ev.has(Event::Handshake2) || ev.has(Event::Handshake3))
      ++fig.pk_handshake;
    else if (ev.has(Event::Teardown1) || ev.has(Event::Teardown2) || ev.has(Event::Teardown3) ||
             ev.has(Event::Teardown4))
      ++fig.pk_teardown;
    else if (ev.has(Event::Data) || ev.has(Event::Datagram) || ev.has(Event::IpFragment))
      ++fig.pk_data;
    else if (p.transport == Transport::Tcp && p.payload_len == 0 && p.tcp.has(tcpflag::kAck) &&
             !p.tcp.has(tcpflag::kSyn | tcpflag::kFin | tcpflag::kRst))
      ++fig.pk_ack;
    if (ev.has(Event::Retransmission)) ++fig.retransmissions;
    // A sender's kernel sends new bytes in order, so a segment that starts below the highest byte
    // already seen from its side carries bytes sent before (the capture at the sender sees them in
    // the order they were sent).
    bool resent = false;
    if (p.transport == Transport::Tcp && a.has_rel && p.payload_len > 0 && a.dir != Direction::None) {
      Side& side = a.dir == Direction::C2S ? c2s_ : s2c_;
      const std::uint64_t end = std::uint64_t{a.rel_seq} + p.payload_len;
      resent = side.seen && a.rel_seq < side.high;
      if (resent) ++fig.resent_segments;
      side.seen = true;
      if (end > side.high) side.high = end;
    }
    count_bytes(p);
    items.push_back(describe_short(p, a, resent || ev.has(Event::Retransmission)));
  }
  void conversation(const ConnSummary&) override {}
  void finish() override {}

  Figures fig;
  std::vector<LadderItem> items;
  std::int64_t first_euid = -1;  // the effective uid at the first packet (-1: none yet)

 private:
  struct Side {
    bool seen = false;
    std::uint64_t high = 0;  // one past the highest relative sequence number carried so far
  };
  Side c2s_, s2c_;

  // Layer 2: the link header; layer 3: the IP header; layer 4: the TCP/UDP header; layer 7: the
  // payload. An IP fragment counts its own headers: every fragment has a link and an IP header, only
  // the first (offset 0) carries the UDP/TCP header, and the rest of each fragment is payload
  // (RFC 791 section 2.3, RFC 8200 section 4.5).
  void count_bytes(const Packet& p) {
    fig.bytes_l2 += p.link.header_len;
    fig.bytes_l3 += p.ip.header_len;
    if (!p.ip.is_fragment) {
      fig.bytes_l4 += p.transport_header_len;
      fig.bytes_l7 += p.payload_len;
      return;
    }
    std::uint32_t data = 0, offset = 0;
    if (p.ip.version == 4) {
      data = p.ip.v4.total_len > p.ip.v4.ihl ? p.ip.v4.total_len - p.ip.v4.ihl : 0u;
      offset = p.ip.v4.frag_offset;
    } else {
      const std::uint32_t ext = p.ip.header_len > 40 ? p.ip.header_len - 40 : 0u;
      data = p.ip.v6.payload_len > ext ? p.ip.v6.payload_len - ext : 0u;
      offset = p.ip.v6.frag_offset;
    }
    std::uint32_t l4 = 0;
    if (offset == 0) l4 = p.ip.proto == 17 ? 8u : p.ip.proto == 6 && p.tcp.header_len ? p.tcp.header_len : 0u;
    if (l4 > data) l4 = data;
    fig.bytes_l4 += l4;
    fig.bytes_l7 += data - l4;
  }

  static LadderItem describe_short(const Packet& p, const Annotation& a, bool resent) {
    LadderItem it;
    it.frame = p.frame;
    it.to_server = a.dir != Direction::S2C;
    const EventSet& ev = a.events;
    std::string& s = it.label;
    if (p.transport == Transport::Tcp) {
      const TcpInfo& t = p.tcp;
      if (t.has(tcpflag::kRst))
        s = "RST";
      else if (t.has(tcpflag::kSyn))
        s = t.has(tcpflag::kAck) ? "SYN-ACK" : "SYN";
      else if (p.payload_len > 0)
        s = text::format(tr("data %u B"), static_cast<unsigned>(p.payload_len));
      if (t.has(tcpflag::kFin)) s += s.empty() ? "FIN" : " + FIN";
      if (s.empty()) s = ev.has(Event::DupAck) ? tr("dup ACK") : "ACK";
      if (resent) s = text::format(tr("%s (re-sent)"), s.c_str());
    } else if (p.transport == Transport::Udp) {
      const std::size_t n = p.payload != nullptr ? p.payload_captured : 0;
      it.number = message_number(p.payload, n);
      char num[16] = "";
      if (it.number > 0) std::snprintf(num, sizeof num, "#%04d", it.number);
      const unsigned len = static_cast<unsigned>(p.payload_len);
      if (p.ip.is_fragment && !p.ip.reassembled)  // the first one (offset 0)
        s = text::format(tr("IP fragment, UDP header %s"), num);
      else if (p.ip.reassembled)
        s = it.number > 0 ? text::format(tr("last IP fragment: datagram %1$s %2$u B"), num, len)
                          : text::format(tr("last IP fragment: datagram %u B"), len);
      else
        s = it.number > 0 ? text::format(tr("datagram %1$s %2$u B"), num, len) : text::format(tr("datagram %u B"), len);
      while (!s.empty() && s.back() == ' ') s.pop_back();
    } else if (ev.has(Event::IpFragment)) {
      s = tr("IP fragment");
    } else {
      s = tr("other");
    }
    return it;
  }
};

// Every blocking call gives up after ms: SO_RCVTIMEO bounds recv and accept, SO_SNDTIMEO bounds send
// and connect (socket(7)).

struct ProtoRun {
  Figures fig;
  std::int64_t decode_euid = -1;  // Measure::first_euid
  std::string svg, svg_doc, pcap, error, note;
  std::vector<std::string> ladder;
};

// The invoking user's ids when this process runs as root through sudo (sudo(8) sets SUDO_UID and
// SUDO_GID): the user drop_privileges() gives root up to.
bool sudo_user(uid_t& uid, gid_t& gid) {
  unsigned u = 0, g = 0;
  if (geteuid() != 0 || sudo_ids(u, g) != SudoIds::Found) return false;
  uid = static_cast<uid_t>(u);
  gid = static_cast<gid_t>(g);
  return true;
}

// The saved captures belong to the user who ran sudo, like tcpdump's. Their files are created while
// the process is still root (the second capture is opened before root is given up), so they are
// handed over before the drop: afterwards the user renames them to their final names (in a folder
// with the sticky bit, such as /tmp, only the file's owner may: unlink(2), EPERM).
void give_to_sudo_user(const std::string& path) {
  uid_t uid = 0;
  gid_t gid = 0;
  if (path.empty() || !sudo_user(uid, gid)) return;
  if (::chown(path.c_str(), uid, gid) != 0) {
    // Not fatal here; the rename at the end says what went wrong, naming the file.
  }
}

// Under sudo the saved captures get their final names (rename(2)) after root is given up, so their
// folder must let the sudo user write in it, as for `sockscope capture -w`. Asked before anything
// is built, of a child that gives root up itself: access(2) then answers for the user, with the
// user's groups. Run before any thread of this run exists (fork(2) copies only the calling thread).
bool folder_writable_by_sudo_user(const std::string& path, std::string& error) {
  uid_t uid = 0;
  gid_t gid = 0;
  if (path.empty() || !sudo_user(uid, gid) || uid == 0) return true;
  const auto slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const pid_t pid = ::fork();
  if (pid < 0) return true;  // cannot ask: the rename at the end reports what goes wrong
  if (pid == 0) {
    std::string ignored;
    if (!drop_privileges("", ignored)) ::_exit(2);  // the run's own drop reports it
    ::_exit(::access(folder.c_str(), W_OK | X_OK) == 0 || errno != EACCES ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) return true;
  const std::string p = text::printable(path), d = text::printable(folder);
  std::string msg(p.size() + d.size() + 512, '\0');
  const int n = std::snprintf(msg.data(), msg.size(),
                              tr("%1$s: no permission to write in %2$s. Choose a folder you may write in "
                                 "(after sudo, sockscope runs as your own user when it saves)"),
                              p.c_str(), d.c_str());
  msg.resize(n <= 0 ? 0 : std::min(static_cast<std::size_t>(n), msg.size() - 1));
  error = msg;
  return false;
}

// One protocol's run, in two phases. prepare() does all that needs root: the server's thread enters
// the server host and binds (and, for TCP, listens), the capture's thread enters the client host and
// opens the capture, the client's thread enters the client host; then all three wait. run() gives
// the go signal, waits for the end of the conversation and returns the figures; it needs no
// privilege. cancel() calls off a run that was prepared and never run, and leaves no file.
class ProtoRunner {
 public:
  ProtoRunner(const Options& opts, const Setup& su) : opts_(opts), su_(su), svg_(svg_options(su)) {
    tally_.copies.assign(static_cast<std::size_t>(su.messages) + 1, 0);
  }
  ~ProtoRunner() { cancel(); }
  ProtoRunner(const ProtoRunner&) = delete;
  ProtoRunner& operator=(const ProtoRunner&) = delete;

  bool prepare();
  ProtoRun run();
  void cancel();
  // The temporary name of the capture file being written, or empty.
  std::string partial() const { return session_ ? session_->write_temp_path() : std::string(); }
  std::string error() {
    std::lock_guard<std::mutex> lock(st_.m);
    return st_.error;
  }

 private:
  static SvgOptions svg_options(const Setup& su) {
    SvgOptions so;
    char title[160];
    std::snprintf(title, sizeof title, tr("%1$s: %2$d messages of %3$d bytes%4$s"), su.tcp ? "TCP" : "UDP", su.messages,
                  su.size, su.lab ? tr(", between the two lab hosts") : tr(", on loopback"));
    so.title = title;
    return so;
  }
  void capture_main(std::uint16_t port);

  const Options& opts_;
  const Setup su_;
  Stage st_;
  ForwardSink sink_;
  ServerTally tally_;
  std::int64_t first_call_ns_ = 0;
  std::uint64_t sent_ = 0;
  SvgLadder svg_;
  Measure measure_;
  TeeView tee_{{&measure_, &svg_}};
  std::unique_ptr<OutBuffer> sink_out_ = std::make_unique<OutBuffer>(nullptr);  // the views write nothing to a terminal
  std::unique_ptr<LiveSession> session_;
  std::atomic<bool> stop_{false};
  LiveSessionResult live_;
  std::thread server_, capture_, client_;
  ProtoRun out_;
};

void ProtoRunner::capture_main(std::uint16_t port) {
  if (!enter_host(su_, lab::kClientNs, st_, "capture")) return;
  LiveSessionOptions lo;
  lo.capture.interface = su_.interface;
  // The server's port, of this protocol only (the other protocol's capture is open at the same time,
  // and TCP and UDP port numbers are separate: the same number may be in use by both); and IPv4
  // fragments after the first, which carry no port (pcap-filter(7)).
  lo.capture.filter = std::string(su_.tcp ? "tcp" : "udp") + " port " + std::to_string(port) +
                      " or (ip[6:2] & 0x1fff != 0)";
  lo.write_path = out_.pcap;
  // Opened as root, and root is kept here: the other protocol's capture (and, in the lab, its
  // threads' setns) still needs it. run() of compare.cpp gives root up once both are prepared,
  // before the first packet is decoded.
  lo.drop_privileges = false;
  std::string err;
  session_ = LiveSession::open(lo, tee_, *sink_out_, err);
  if (!session_) {
    st_.fail(err);
    return;
  }
  if (!session_->warning().empty()) out_.note = session_->warning();
  st_.update([](Stage& s) { s.capture_ready = true; });
  // The kernel keeps the port's packets from now on; reading (and decoding) them waits for go.
  Clock::time_point unused;
  if (!st_.wait_go(unused)) return;
  live_ = session_->run(stop_);
}

bool ProtoRunner::prepare() {
  if (!opts_.write_prefix.empty()) out_.pcap = opts_.write_prefix + (su_.tcp ? "-tcp.pcapng" : "-udp.pcapng");
  server_ = std::thread([this] { server_main(su_, st_, tally_, sink_); });
  if (!st_.wait([](const Stage& s) { return s.server_ready; }, Clock::now() + std::chrono::seconds(5))) {
    if (!st_.has_failed()) st_.fail(tr("server: not ready after 5 s"));
    return false;
  }
  std::uint16_t port = 0;
  {
    std::lock_guard<std::mutex> lock(st_.m);
    port = st_.port;
  }
  capture_ = std::thread([this, port] { capture_main(port); });
  if (!st_.wait([](const Stage& s) { return s.capture_ready; }, Clock::now() + std::chrono::seconds(10))) {
    if (!st_.has_failed()) st_.fail(tr("capture: not open after 10 s"));
    return false;
  }
  client_ = std::thread([this] { client_main(su_, st_, first_call_ns_, sent_, sink_); });
  // The client thread only enters its host before it waits: it says ready, or fails the stage.
  return st_.wait([](const Stage& s) { return s.client_ready; }, Clock::now() + std::chrono::hours(1));
}

void ProtoRunner::cancel() {
  if (!server_.joinable() && !capture_.joinable() && !client_.joinable() && !session_) return;
  st_.fail("called off");  // releases the waiting threads; never reported (the run failed before)
  stop_.store(true);
  for (std::thread* t : {&client_, &server_, &capture_})
    if (t->joinable()) t->join();
  sink_.detach();
  // Nothing was captured: the file is removed before the session would give it its final name, so
  // a file of the same name from an earlier run stays as it was.
  if (session_ && !out_.pcap.empty()) ::unlink(session_->write_temp_path().c_str());
  session_.reset();
}

ProtoRun ProtoRunner::run() {
  ProtoRun& out = out_;
  Stage& st = st_;
  if (!st.has_failed()) sink_.attach(session_.get());
  st.update([&](Stage& s) {
    s.go = true;
    s.end = Clock::now() + std::chrono::milliseconds(su_.timeout_ms);
  });
  if (client_.joinable()) client_.join();
  if (server_.joinable()) server_.join();
  if (session_) {
    // The last packets (the ACK of the last FIN; in the lab a FIN re-sent after a loss) are still on
    // their way: the capture runs a little longer.
    std::this_thread::sleep_for(std::chrono::milliseconds(su_.tcp ? (su_.lab ? 700 : 250) : 150));
  }
  sink_.detach();
  stop_.store(true);
  if (capture_.joinable()) capture_.join();

  if (session_ && !live_.ok && !st.has_failed()) st.fail(live_.error);
  if (live_.stats.dropped_kernel > 0)
    out.note = std::to_string(live_.stats.dropped_kernel) + " " +
               tr("packets were dropped by the capture (kernel buffer full): the packet figures are short");
  session_.reset();
  {
    std::lock_guard<std::mutex> lock(st.m);
    if (st.failed) out.error = st.error;
  }

  const Setup& su = su_;
  const ServerTally& tally = tally_;
  Figures& f = out.fig;
  f = measure_.fig;
  out.decode_euid = measure_.first_euid;
  f.messages_sent = sent_;
  for (std::size_t k = 1; k < tally.copies.size(); ++k) {
    if (tally.copies[k] > 0) ++f.messages_delivered;
    if (tally.copies[k] > 1) f.messages_duplicated += tally.copies[k] - 1;
  }
  f.messages_lost = f.messages_sent > f.messages_delivered ? f.messages_sent - f.messages_delivered : 0;
  f.messages_merged = tally.merged;
  f.recv_calls = tally.recv_calls;
  const std::uint64_t headers = f.bytes_l2 + f.bytes_l3 + f.bytes_l4;
  f.overhead_pct = headers + f.bytes_l7 == 0 ? 0.0
                                              : 100.0 * static_cast<double>(headers) /
                                                    static_cast<double>(headers + f.bytes_l7);
  f.first_byte_ms = tally.first_byte_ns > 0 && first_call_ns_ > 0
                        ? static_cast<double>(tally.first_byte_ns - first_call_ns_) / 1e6
                        : -1.0;

  // UDP datagrams whose message never reached the server: the capture (at the client) saw them
  // leave; the server's own reads prove they never arrived.
  for (LadderItem& it : measure_.items) {
    char line[200];
    std::string label = it.label;
    if (!su.tcp && it.to_server && it.number >= 1 && it.number <= su.messages &&
        tally.copies[static_cast<std::size_t>(it.number)] == 0) {
      char reason[96];
      std::snprintf(reason, sizeof reason, tr("never received: message %d missing"), it.number);
      svg_.mark_lost(it.frame, reason);
      label = text::format(tr("%s ✗ lost"), label.c_str());
    }
    std::snprintf(line, sizeof line, "%3llu %s %s", static_cast<ull>(it.frame), it.to_server ? "→" : "←",
                  label.c_str());
    out.ladder.emplace_back(line);
  }
  out.svg = svg_.svg(false);
  out.svg_doc = svg_.svg(true);
  return std::move(out);
}

}  // namespace

Result run(const Options& opts) {
  Result r;
  r.options = opts;
  if (opts.messages < 1 || opts.messages > 10000) {
    r.error = tr("messages: 1 to 10000");
    return r;
  }
  if (opts.size < 6 || opts.size > 60000) {
    r.error = tr("size: 6 to 60000 bytes");
    return r;
  }
  if (opts.loss_pct < 0 || opts.loss_pct > 100 || (opts.loss_pct > 0 && !opts.lab)) {
    r.error = tr("loss: 0 to 100 percent, and only in the lab (on loopback nothing is lost)");
    return r;
  }
  Setup su;
  su.lab = opts.lab;
  su.messages = opts.messages;
  su.size = opts.size;
  if (opts.gap_ms < 0 || opts.gap_ms > 1000) {
    r.error = tr("gap: 0 to 1000 ms");
    return r;
  }
  su.gap_ms = opts.gap_ms;
  // The pauses alone take messages * gap_ms: the run may take that much longer.
  su.timeout_ms = std::max(opts.timeout_ms > 0 ? opts.timeout_ms : 20000, opts.messages * opts.gap_ms + 10000);
  su.server_host = opts.lab ? lab::kServerIPv4 : "127.0.0.1";
  su.interface = opts.lab ? lab::kClientIf : "lo";

  // Under sudo the captures are saved by the user (below): refused now, before anything is built,
  // when the user may not write in their folder.
  if (std::string err;
      !opts.write_prefix.empty() && !folder_writable_by_sudo_user(opts.write_prefix + "-tcp.pcapng", err)) {
    r.error = err;
    return r;
  }

  lab::Guard guard;
  if (opts.lab) {
    lab::LabOptions lo;
    lo.loss_pct = opts.loss_pct;
    lo.sack = opts.sack;
    std::string err;
    const lab::UpResult up = guard.up(lo, err);
    if (up != lab::UpResult::Ok) {
      r.error = std::string(tr("the lab could not be built: ")) + err;
      return r;
    }
  }

  // All that needs root comes first, for both protocols: the lab's namespaces entered, the servers'
  // sockets bound, both captures open. Then root is given up (to the sudo user, like tcpdump -Z),
  // before the first packet is decoded; then TCP runs to its end, then UDP. The UDP capture is open
  // while TCP runs, but its filter takes only UDP to its own server's port: it sees nothing of TCP.
  // The lab's watchdog keeps root (lab.hpp), so the lab is removed at the end all the same.
  ProtoRun tcp, udp;
  std::string drop_error;
  {
    Setup tcp_su = su, udp_su = su;
    tcp_su.tcp = true;
    udp_su.tcp = false;
    ProtoRunner tcp_run(opts, tcp_su), udp_run(opts, udp_su);
    if (!tcp_run.prepare()) {
      tcp.error = tcp_run.error();
    } else if (!udp_run.prepare()) {
      udp.error = udp_run.error();
    } else {
      for (const ProtoRunner* p : {&tcp_run, &udp_run}) give_to_sudo_user(p->partial());
      if (drop_privileges("", drop_error)) {
        tcp = tcp_run.run();
        if (tcp.error.empty()) udp = udp_run.run();
      }
    }
    // The runs that were prepared and not run are called off here, their files removed.
  }
  if (opts.lab) {
    std::string err;
    if (!guard.down(err) && r.note.empty()) r.note = std::string(tr("the lab was not removed cleanly: ")) + err;
  }

  r.tcp = tcp.fig;
  r.udp = udp.fig;
  r.decode_euid = tcp.decode_euid >= 0 ? tcp.decode_euid : udp.decode_euid;
  r.tcp_pcap = tcp.pcap;
  r.udp_pcap = udp.pcap;
  r.tcp_svg = std::move(tcp.svg);
  r.udp_svg = std::move(udp.svg);
  r.tcp_svg_doc = std::move(tcp.svg_doc);
  r.udp_svg_doc = std::move(udp.svg_doc);
  r.tcp_ladder = std::move(tcp.ladder);
  r.udp_ladder = std::move(udp.ladder);
  for (const std::string* n : {&tcp.note, &udp.note})
    if (!n->empty()) r.note += (r.note.empty() ? "" : "; ") + *n;
  if (!drop_error.empty())
    r.error = drop_error;
  else if (!tcp.error.empty())
    r.error = "TCP: " + tcp.error;
  else if (!udp.error.empty())
    r.error = "UDP: " + udp.error;
  r.ok = r.error.empty();
  return r;
}

}  // namespace sockscope::compare
