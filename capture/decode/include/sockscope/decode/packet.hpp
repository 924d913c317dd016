// A decoded packet: plain structs in host byte order, fixed size, no heap.
// Produced by decode() (decode.hpp) from captured bytes; consumed by the annotator and the views.
// Pointers (payload) point into the caller's capture buffer or into the Decoder's reassembly
// buffer and are valid until the next decode() call.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sockscope {

// Seconds and nanoseconds since the epoch, as the capture file gives them.
struct Timestamp {
  std::int64_t sec = 0;
  std::uint32_t nsec = 0;
  // Nanoseconds since the epoch, saturated to [0, 2^62] (1970 to 2116): a damaged file can claim any
  // 64-bit second (capture formats store unsigned seconds; libpcap may hand them back negative), and
  // the difference of any two saturated values still fits in 64 bits.
  constexpr std::int64_t ns() const {
    constexpr std::int64_t kLimit = std::int64_t{1} << 62;
    constexpr std::int64_t kMaxSec = kLimit / 1000000000LL - 1;
    if (sec > kMaxSec) return kLimit;
    if (sec < 0) return 0;
    return sec * 1000000000LL + static_cast<std::int64_t>(nsec % 1000000000u);
  }
  constexpr double seconds() const { return static_cast<double>(sec) + nsec * 1e-9; }
  friend constexpr bool operator==(const Timestamp&, const Timestamp&) = default;
};

// libpcap link-layer header types (LINKTYPE_* values as stored in files).
namespace linktype {
inline constexpr std::uint32_t kNull = 0;        // BSD loopback, host-order AF_ value
inline constexpr std::uint32_t kEthernet = 1;
inline constexpr std::uint32_t kArcnetBsd = 7;   // ARCNET, BSD header (RFC 1051 / RFC 1201)
inline constexpr std::uint32_t kFddi = 10;
inline constexpr std::uint32_t kRawOld12 = 12;   // DLT_RAW on some BSDs
inline constexpr std::uint32_t kRawOld14 = 14;   // DLT_RAW on OpenBSD
inline constexpr std::uint32_t kRaw = 101;
inline constexpr std::uint32_t kLoop = 108;      // OpenBSD loopback, network-order AF_ value
inline constexpr std::uint32_t kLinuxSll = 113;
inline constexpr std::uint32_t kArcnetLinux = 129;
inline constexpr std::uint32_t kNflog = 239;     // Linux netfilter log messages
inline constexpr std::uint32_t kIpoib = 242;     // IP over InfiniBand (RFC 4391)
inline constexpr std::uint32_t kIpv4 = 228;
inline constexpr std::uint32_t kIpv6 = 229;
inline constexpr std::uint32_t kLinuxSll2 = 276;
}  // namespace linktype

enum class Osi : std::uint8_t { Physical = 1, DataLink = 2, Network = 3, Transport = 4, SessionPresentation = 5, Application = 7 };

// How far decoding got, and why it stopped.
enum class DecodeStatus : std::uint8_t {
  Ok,         // every header present was decoded
  Truncated,  // the capture stopped early (snapshot length): bytes missing, nothing contradicts
  Malformed,  // the bytes are there but fields disagree (bad length, bad version, lying option)
};

struct DecodeError {
  DecodeStatus status = DecodeStatus::Ok;
  const char* layer = nullptr;  // static string: "ethernet", "ipv4", "tcp", ...
  const char* what = nullptr;   // static string in plain English, e.g. "data offset below 5"
  std::uint32_t offset = 0;     // byte offset in the frame where the problem is
};

struct IpAddr {
  std::uint8_t family = 0;  // 0 none, 4 or 6
  std::array<std::uint8_t, 16> b{};  // IPv4 uses b[0..3]
  friend constexpr bool operator==(const IpAddr&, const IpAddr&) = default;
};

struct MacAddr {
  std::array<std::uint8_t, 6> b{};
  friend constexpr bool operator==(const MacAddr&, const MacAddr&) = default;
};

enum class LinkKind : std::uint8_t { Unknown, Ethernet, Null, Loop, Sll, Sll2, Raw, Fddi, Ipoib, Nflog, Arcnet };

struct LinkInfo {
  LinkKind kind = LinkKind::Unknown;
  std::uint32_t linktype = 0;
  std::uint32_t header_len = 0;  // bytes of all layer-2 headers (incl. VLAN tags, PPPoE)
  bool has_macs = false;         // Ethernet; SLL carries one (source) address
  MacAddr src_mac, dst_mac;
  std::uint16_t ethertype = 0;   // the final EtherType / protocol after tags
  std::uint32_t family = 0;      // Null/Loop: the address family value as read
  // SLL / SLL2
  std::uint16_t sll_pkttype = 0;
  std::uint16_t sll_hatype = 0;
  std::uint32_t sll_ifindex = 0;  // SLL2 only
  // 802.1Q / QinQ, outermost first
  std::uint8_t vlan_count = 0;
  std::array<std::uint16_t, 2> vlan_tpid{};
  std::array<std::uint16_t, 2> vlan_id{};
  std::array<std::uint8_t, 2> vlan_pcp{};
  // PPPoE session
  bool pppoe = false;
  std::uint16_t pppoe_session = 0;
  std::uint16_t ppp_protocol = 0;
  // FDDI: frame control; NFLOG: address family and resource id; ARCNET: source and destination
  // station ids and the protocol id (not an EtherType: ethertype then holds the one it stands for).
  std::uint8_t fddi_fc = 0;
  std::uint8_t nflog_family = 0;
  std::uint16_t nflog_resource = 0;
  std::uint8_t arc_src = 0, arc_dst = 0, arc_type = 0;
};

struct ArpInfo {
  std::uint32_t offset = 0;  // where the ARP message starts in the frame
  std::uint16_t htype = 0, ptype = 0, op = 0;  // op 1 request, 2 reply
  std::uint8_t hlen = 0, plen = 0;
  MacAddr sender_mac, target_mac;
  IpAddr sender_ip, target_ip;
};

struct Ipv4Info {
  std::uint8_t ihl = 0;  // header length in bytes
  std::uint8_t tos = 0;
  std::uint16_t total_len = 0;
  std::uint16_t id = 0;
  bool df = false, mf = false;
  std::uint16_t frag_offset = 0;  // in bytes
  std::uint8_t ttl = 0;
  std::uint8_t proto = 0;
  std::uint16_t checksum = 0;
  bool checksum_ok = true;   // checked when the whole header was captured
  std::uint8_t options_len = 0;
};

struct Ipv6Info {
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;
  std::uint16_t payload_len = 0;
  std::uint8_t next_header = 0;  // first next-header value
  std::uint8_t hop_limit = 0;
  std::uint8_t ext_count = 0;    // extension headers walked
  std::array<std::uint8_t, 8> ext_types{};
  std::uint16_t ext_len = 0;     // total bytes of extension headers
  bool has_fragment = false;
  std::uint32_t frag_id = 0;
  std::uint16_t frag_offset = 0;  // bytes
  bool frag_more = false;
};

// Network layer summary common to IPv4 and IPv6.
struct IpInfo {
  std::uint8_t version = 0;  // 0 none, 4, 6
  IpAddr src, dst;
  std::uint8_t proto = 0;            // transport protocol (after IPv6 extension headers)
  std::uint32_t header_offset = 0;   // offset of the IP header in the frame
  std::uint32_t header_len = 0;      // IPv4 ihl, or 40 + extension headers
  std::uint32_t payload_len = 0;     // transport bytes according to the IP length fields
  bool is_fragment = false;          // this frame is one fragment of a larger datagram
  bool reassembled = false;          // this frame completed a datagram; transport fields below
                                     // describe the whole reassembled datagram
  std::uint32_t frag_key = 0;        // IPv4 id or IPv6 fragment id
  std::uint16_t frag_count = 0;      // with reassembled: how many fragments made it
  Ipv4Info v4;
  Ipv6Info v6;
};

namespace tcpflag {
inline constexpr std::uint16_t kFin = 0x001;
inline constexpr std::uint16_t kSyn = 0x002;
inline constexpr std::uint16_t kRst = 0x004;
inline constexpr std::uint16_t kPsh = 0x008;
inline constexpr std::uint16_t kAck = 0x010;
inline constexpr std::uint16_t kUrg = 0x020;
inline constexpr std::uint16_t kEce = 0x040;
inline constexpr std::uint16_t kCwr = 0x080;
inline constexpr std::uint16_t kAe = 0x100;  // formerly NS (RFC 3540), now AccECN
}  // namespace tcpflag

struct SackBlock {
  std::uint32_t left = 0, right = 0;
};

struct TcpInfo {
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t header_len = 0;  // data offset * 4
  std::uint16_t flags = 0;      // tcpflag bits
  std::uint16_t window = 0;     // raw, unscaled
  std::uint16_t checksum = 0;
  std::uint16_t urgent = 0;
  // Options (RFC 9293 3.2, RFC 7323, RFC 2018)
  bool has_mss = false;
  std::uint16_t mss = 0;
  bool has_wscale = false;
  std::uint8_t wscale = 0;
  bool sack_permitted = false;
  std::uint8_t sack_count = 0;
  std::array<SackBlock, 4> sack{};
  bool has_timestamps = false;
  std::uint32_t ts_val = 0, ts_ecr = 0;
  std::uint8_t nop_count = 0;
  std::uint8_t unknown_options = 0;
  // The capture stopped inside the header (or its options) after the window field: ports, numbers,
  // flags and window are there, so the segment is analysed although decoding reports a truncation,
  // as Wireshark does (it needs the first 16 bytes). Options past the cut are unknown.
  bool cut_after_window = false;
  bool has(std::uint16_t f) const { return (flags & f) != 0; }
};

struct UdpInfo {
  std::uint16_t sport = 0, dport = 0;
  std::uint16_t length = 0;
  std::uint16_t checksum = 0;
};

struct IcmpInfo {
  bool v6 = false;
  std::uint8_t type = 0, code = 0;
  std::uint16_t checksum = 0;
  std::uint16_t id = 0, seq = 0;   // echo
  bool unreachable = false;        // destination unreachable (ICMP 3 / ICMPv6 1)
  bool port_unreachable = false;   // code 3 (v4) / code 4 (v6)
  std::uint16_t next_hop_mtu = 0;  // ICMP 3/4 "fragmentation needed"
  // The quoted datagram (an error message carries the IP header and 8+ bytes of what it answers).
  bool has_quote = false;
  IpAddr quoted_src, quoted_dst;
  std::uint8_t quoted_proto = 0;
  std::uint16_t quoted_ip_id = 0;
  std::uint16_t quoted_sport = 0, quoted_dport = 0;
  bool quoted_ports = false;
};

enum class Transport : std::uint8_t { None, Tcp, Udp, Icmp, Arp, Other };

// A length field that claims more bytes than the frame holds (tcpdump: "truncated-ip - 8 bytes
// missing!"). Decoding goes on with the bytes there are, so the headers after it are decoded and
// analysed; it is a note, not a decoding error (error stays Ok unless something else fails).
struct Shortfall {
  const char* layer = nullptr;  // "ipv4", "ipv6", "udp"; nullptr when nothing is missing
  std::uint32_t missing = 0;    // bytes the length field claims beyond the frame
  std::uint32_t offset = 0;     // offset of the length field in the frame
};

enum class TunnelKind : std::uint8_t { Gre, Erspan2, Erspan3, Vxlan, Geneve, Mpls };

struct MplsLabel {
  std::uint32_t label = 0;
  std::uint8_t tc = 0, ttl = 0;
  bool bottom = false;
};

// One encapsulation the frame passed through on the way to its innermost packet (which is what
// Packet::ip and the transport fields describe, and what the annotator analyses): the IP packet and,
// for VXLAN and Geneve, the UDP datagram that carried the tunnel, the tunnel header, and the Ethernet
// header of the inner frame when the tunnel carries Ethernet.
struct Tunnel {
  TunnelKind kind = TunnelKind::Gre;
  IpInfo outer_ip;                 // version 0 for MPLS straight on the link
  bool has_udp = false;
  UdpInfo outer_udp;
  std::uint32_t udp_offset = 0;
  bool udp_checksum_checked = false, udp_checksum_ok = true, udp_checksum_partial = false;
  std::uint32_t offset = 0, length = 0;  // the tunnel header in the frame
  std::uint16_t flags = 0;         // GRE flags and version; VXLAN flags; Geneve version and option length
  std::uint16_t protocol = 0;      // GRE and Geneve protocol type (an EtherType)
  bool has_key = false, has_seq = false;
  std::uint32_t key = 0, seq = 0;  // GRE key and sequence number (RFC 2890)
  std::uint32_t vni = 0;           // VXLAN / Geneve virtual network identifier
  std::uint16_t session = 0;       // ERSPAN session id
  std::uint16_t vlan = 0;          // ERSPAN: the mirrored frame's VLAN
  std::uint8_t mpls_count = 0;     // MPLS labels, outermost first (at most 4 kept)
  std::array<MplsLabel, 4> mpls{};
  bool inner_eth = false;          // an Ethernet header follows the tunnel header
  std::uint32_t inner_eth_offset = 0;
  MacAddr inner_src, inner_dst;
  std::uint16_t inner_ethertype = 0;
  std::uint16_t inner_vlan = 0;    // one 802.1Q tag of the inner frame, 0 when none
  bool inner_has_vlan = false;
};

struct Packet {
  std::uint64_t frame = 0;  // 1-based position in the capture
  Timestamp ts;
  std::uint32_t caplen = 0;  // bytes captured
  std::uint32_t wirelen = 0; // bytes on the wire
  LinkInfo link;
  IpInfo ip;
  Transport transport = Transport::None;
  ArpInfo arp;
  TcpInfo tcp;
  UdpInfo udp;
  IcmpInfo icmp;
  std::uint32_t transport_offset = 0;  // offset of the transport header in the frame (0 if none)
  std::uint32_t transport_header_len = 0;
  // Application payload: the bytes after the transport header that were captured.
  const std::uint8_t* payload = nullptr;
  std::uint32_t payload_captured = 0;
  // Payload length according to the headers (IP total length minus headers), whether captured or not.
  std::uint32_t payload_len = 0;
  std::uint32_t payload_offset = 0;    // offset in the frame (not meaningful when reassembled)
  bool transport_checksum_checked = false;
  bool transport_checksum_ok = true;
  // The checksum field holds only the pseudo-header sum: the sender offloads the checksum to its
  // NIC (or it is loopback traffic, which never gets one). Expected, not an error.
  bool transport_checksum_partial = false;
  DecodeError error;                   // status Ok unless decoding stopped early
  Shortfall truncated;                 // a length field that claims more than the frame holds
  std::uint8_t tunnel_count = 0;       // encapsulations before the innermost packet, outermost first
  std::array<Tunnel, 2> tunnels{};
  // The capture interface the frame came from, when the file describes more than one (pcapng):
  // views name it only then. Set by the reading loop after decode(), which leaves them alone.
  bool several_interfaces = false;
  std::uint32_t interface = 0;          // index in the file, as Wireshark's frame.interface_id
  std::string_view interface_name;      // if_name as the file gives it (views escape it); may be empty
  bool ok() const { return error.status == DecodeStatus::Ok; }
};

}  // namespace sockscope
