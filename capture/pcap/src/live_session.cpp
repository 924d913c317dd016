// A live run: packets from libpcap and socket calls from the chat endpoints, merged on one clock.
//
// Both clocks are CLOCK_REALTIME: on Linux the kernel stamps captured packets with the wall clock
// (packet(7), SO_TIMESTAMPNS), and endpoints stamp their calls with clock_gettime(CLOCK_REALTIME).
// Items are held back for holdback_ms so that an earlier item still on its way (a packet in the
// kernel's capture buffer, a call being reported by another thread) can overtake a later one.
#include "sockscope/pcap/live_session.hpp"

#include <time.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "sockscope/annotate/annotate.hpp"
#include "sockscope/pcap/capture_writer.hpp"
#include "sockscope/pcap/packet_flow.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope {

namespace {

std::int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// A captured frame copied out of libpcap's buffer (valid only during its callback). Slots are
// recycled: the byte vectors keep their capacity, so a steady capture allocates nothing per packet.
struct Slot {
  std::vector<std::uint8_t> bytes;
  std::uint32_t caplen = 0, wirelen = 0;
  Timestamp ts;
  std::uint64_t number = 0;
};

// A FIFO of slot indices over a fixed array of slots; grows (doubling) only when a burst fills it.
class PacketRing {
 public:
  explicit PacketRing(std::size_t capacity) { grow(capacity); }

  Slot& push_slot() {
    if (count_ == slots_.size()) grow(slots_.size() * 2);
    return slots_[(head_ + count_++) % slots_.size()];
  }
  bool empty() const { return count_ == 0; }
  std::size_t size() const { return count_; }
  Slot& front() { return slots_[head_]; }
  void pop() {
    head_ = (head_ + 1) % slots_.size();
    --count_;
  }

 private:
  void grow(std::size_t n) {
    // Rotate so the queue starts at 0, then append fresh slots.
    std::rotate(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(head_), slots_.end());
    head_ = 0;
    const std::size_t old = slots_.size();
    slots_.resize(n);
    for (std::size_t i = old; i < n; ++i) slots_[i].bytes.reserve(2048);
  }
  std::vector<Slot> slots_;
  std::size_t head_ = 0, count_ = 0;
};

}  // namespace

struct LiveSession::Impl {
  LiveSessionOptions opts;
  View* view = nullptr;
  OutBuffer* out = nullptr;
  std::unique_ptr<LiveCapture> cap;
  std::unique_ptr<CaptureWriter> writer;
  std::uint32_t linktype = 0;

  std::unique_ptr<PacketFlow> flow;  // made once the view is known
  std::string comment;  // describe() text for the pcapng comment, reused
  std::string calls_pending;  // with -w: the calls shown since the last packet (describe_call lines)
  PacketRing ring{1024};

  std::mutex mu;
  std::vector<CallRecord> incoming;  // guarded by mu
  std::vector<CallRecord> calls;     // taken from incoming, sorted by timeline_ts

  LiveSessionResult result;
  bool count_reached = false;
  std::uint64_t kept = 0;  // with opts.keep: the packets kept so far

  void take_calls() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (incoming.empty()) return;
      for (CallRecord& c : incoming) {
        // Two endpoint threads report independently: insert in time order (stable for equal times).
        const std::int64_t t = c.timeline_ts().ns();
        auto pos = std::upper_bound(calls.begin(), calls.end(), t,
                                    [](std::int64_t v, const CallRecord& r) { return v < r.timeline_ts().ns(); });
        calls.insert(pos, std::move(c));
      }
      incoming.clear();
    }
  }

  // The packet at the front of the ring, decoded and annotated but not yet shown (prepare_front()):
  // null when none is, or when the session does not keep it.
  bool front_prepared = false;
  const Packet* front_packet = nullptr;
  const Annotation* front_annotation = nullptr;

  void prepare_front() {
    Slot& s = ring.front();
    front_prepared = true;
    front_packet = nullptr;
    Packet& packet = flow->decode(linktype, s.bytes.data(), s.caplen, s.wirelen, s.ts, s.number);
    if (opts.keep) {
      if (!opts.keep(packet)) return;
      packet.frame = s.number = ++kept;
    }
    front_annotation = &flow->annotate();
    front_packet = &packet;
  }

  void show_packet(Slot& s) {
    if (!front_prepared) prepare_front();
    front_prepared = false;
    if (!front_packet) return;
    const Packet& packet = *front_packet;
    const Annotation& a = *front_annotation;
    flow->present();
    ++result.packets;
    if (writer && result.ok) {
      // Every frame is saved, decodable or not; its comment is the annotation the learner saw.
      comment.clear();
      describe(packet, a, comment);
      // The calls since the previous packet (-w with calls: sockscope trace, demo): a pcapng has no
      // place of its own for them, so they lead the comment of the packet that follows them.
      if (!calls_pending.empty()) {
        comment.insert(0, calls_pending);
        calls_pending.clear();
      }
      Frame f;
      f.data = s.bytes.data();
      f.caplen = s.caplen;
      f.wirelen = s.wirelen;
      f.ts = s.ts;
      f.number = s.number;
      if (!writer->write(f, comment)) {
        result.ok = false;
        result.error = writer->error();
      }
    }
    if (opts.max_packets != 0 && result.packets >= opts.max_packets) count_reached = true;
  }

  void show_call(const CallRecord& c) {
    const std::uint32_t conn = (c.has_local && c.has_peer) ? flow->annotator().conversation_of(c.proto, c.local, c.peer) : 0;
    view->call(c, conn);
    ++result.calls;
    if (writer && c.returned) {
      calls_pending += "call: ";
      describe_call(c, calls_pending);
      calls_pending += '\n';
    }
  }

  // Shows, in time order, every queued item stamped at or before cutoff_ns (all of them when final).
  // Returns how many were shown.
  std::size_t merge(std::int64_t cutoff_ns, bool final) {
    std::size_t shown = 0;
    std::size_t next_call = 0;
    for (;;) {
      const bool have_packet = !ring.empty() && !count_reached;
      const bool have_call = next_call < calls.size();
      if (!have_packet && !have_call) break;
      bool take_call = false;
      if (have_packet && have_call) {
        const CallRecord& c = calls[next_call];
        const std::int64_t ct = c.timeline_ts().ns(), pt = ring.front().ts.ns();
        // On a tie, a call that starts goes before the packet it causes; a call that returns goes
        // after the packet it waited for.
        take_call = c.returned ? ct < pt : ct <= pt;
      } else {
        take_call = have_call;
      }
      const std::int64_t t = take_call ? calls[next_call].timeline_ts().ns() : ring.front().ts.ns();
      if (!final && t > cutoff_ns) break;
      if (take_call) {
        // A call that sends (a UDP sendto that opens a conversation) comes before the packet it
        // causes, whose conversation does not exist yet: that packet is annotated first, so the call
        // carries its conversation; the view still sees the call first.
        const CallRecord& c = calls[next_call];
        if (have_packet && !front_prepared && c.returned && !c.blocking && c.has_local && c.has_peer &&
            call_kind(c.call) == CallKind::Send && flow->annotator().conversation_of(c.proto, c.local, c.peer) == 0)
          prepare_front();
        show_call(calls[next_call++]);
      } else {
        show_packet(ring.front());
        ring.pop();
      }
      ++shown;
    }
    calls.erase(calls.begin(), calls.begin() + static_cast<std::ptrdiff_t>(next_call));
    return shown;
  }


  int poll_capture(int timeout_ms) {
    return cap->poll(timeout_ms, [this](const Frame& f) {
      Slot& s = ring.push_slot();
      // caplen never exceeds the snapshot length; the vector keeps its capacity between uses.
      s.bytes.assign(f.data, f.data + f.caplen);
      s.caplen = f.caplen;
      s.wirelen = f.wirelen;
      s.ts = f.ts;
      s.number = f.number;
    });
  }
};

std::unique_ptr<LiveSession> LiveSession::open(const LiveSessionOptions& opts, View& view,
                                               OutBuffer& out, std::string& error) {
  std::unique_ptr<LiveSession> s(new LiveSession());
  s->impl_ = std::make_unique<Impl>();
  Impl& im = *s->impl_;
  im.opts = opts;
  im.view = &view;
  im.flow = std::make_unique<PacketFlow>(view);
  im.out = &out;
  im.cap = LiveCapture::open(opts.capture, error);
  if (!im.cap) return nullptr;
  im.linktype = im.cap->linktype();
  // Root is given up before the file is created, as tcpdump -Z does: the file then belongs to the
  // invoking user, and the final rename(2) at the end (made with the dropped rights) is sure to be
  // allowed in the folder where the file was created.
  if (opts.drop_privileges && !drop_privileges(opts.user, error)) return nullptr;
  if (!opts.write_path.empty()) {
    im.writer = CaptureWriter::create(opts.write_path, im.linktype, opts.capture.snaplen, error);
    if (!im.writer) return nullptr;
  }
  return s;
}

LiveSession::~LiveSession() = default;

void LiveSession::on_call(const CallRecord& call) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->incoming.push_back(call);
}

const std::string& LiveSession::warning() const { return impl_->cap->warning(); }

std::string LiveSession::write_temp_path() const { return impl_->writer ? impl_->writer->temp_path() : std::string(); }

LiveSessionResult LiveSession::run(std::atomic<bool>& stop) {
  Impl& im = *impl_;
  const std::int64_t holdback_ns = static_cast<std::int64_t>(im.opts.holdback_ms < 0 ? 0 : im.opts.holdback_ms) * 1000000LL;
  bool capture_failed = false;
  while (!stop.load(std::memory_order_relaxed) && !im.count_reached && im.result.ok) {
    if (im.poll_capture(10) < 0) {
      capture_failed = true;
      break;
    }
    im.take_calls();
    const std::int64_t now = realtime_ns();
    std::int64_t until = now - holdback_ns;
    if (im.opts.settled_ns) {
      // Packets a call under way may still claim wait for it to return (bounded by max_wait_ms).
      const std::int64_t settled = im.opts.settled_ns();
      const std::int64_t floor = now - static_cast<std::int64_t>(std::max(im.opts.max_wait_ms, 0)) * 1000000LL;
      if (settled < until) until = std::max(settled, floor);
    }
    if (im.merge(until, false) > 0) {
      im.flow->show_finished();
      // A terminal (or a pipe to a test) sees each batch as it happens.
      im.out->flush();
    }
  }
  // Whatever libpcap still holds, then everything queued, in time order.
  if (!capture_failed && !im.count_reached && im.result.ok) {
    for (int i = 0; i < 100; ++i) {
      const int n = im.poll_capture(0);
      if (n < 0) {
        capture_failed = true;
        break;
      }
      if (n == 0) break;
    }
  }
  im.take_calls();
  im.merge(0, true);
  im.flow->finish();
  im.out->flush();

  LiveSessionResult r = im.result;
  if (capture_failed && r.ok) {
    r.ok = false;
    r.error = im.cap->error();
  }
  if (im.writer) {
    if (!im.writer->close() && r.ok) {
      r.ok = false;
      r.error = im.writer->error();
    }
    r.written = im.writer->error().empty() ? im.writer->written() : 0;
  }
  r.stats = im.cap->stats();
  return r;
}

}  // namespace sockscope
