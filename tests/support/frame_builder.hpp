// Byte builders for tests: TCP/UDP/ICMP inside IPv4 or IPv6, wrapped in any link layer libpcap
// hands us. Checksums are right unless a spec asks otherwise. Plain structs with defaults, so a test
// sets only what it is about:
//
//   TcpSpec syn;  syn.flags = tcpflag::kSyn;  syn.options = tcp_opt::mss(1460);
//   auto frame = ethernet_frame(tcp_packet(syn));
//
//   TcpFlow f("10.0.0.1", 40000, "10.0.0.2", 9000);
//   for (const TcpSpec& s : f.handshake()) frames.push_back(ethernet_frame(tcp_packet(s)));
//   frames.push_back(ethernet_frame(tcp_packet(f.c2s(tcpflag::kPsh | tcpflag::kAck, "hello"))));
#pragma once
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/decode/packet.hpp"

namespace sockscope::testing {

using Bytes = std::vector<std::uint8_t>;

// "10.0.0.1" or "fe80::1"; family 0 if the text is not an address.
IpAddr ip_addr(std::string_view text);
// "02:00:00:00:00:01"
MacAddr mac_addr(std::string_view text);
Bytes bytes_of(std::string_view text);
Bytes cat(std::initializer_list<Bytes> parts);

// An IPv6 extension header. body: the bytes after next-header and length; the builder pads it
// with zeros (Pad1 options) to the header's unit (8 bytes, 4 for AH) and fills in both fields.
struct Ipv6Ext {
  std::uint8_t type = 60;
  Bytes body;
};
Ipv6Ext hop_by_hop_ext();
Ipv6Ext dest_options_ext();
Ipv6Ext routing_ext(std::uint8_t segments_left = 0);  // type 4 (segment routing), one segment
Ipv6Ext fragment_ext(std::uint16_t offset, bool more, std::uint32_t id);
Ipv6Ext ah_ext();

struct IpSpec {
  std::string src = "10.0.0.1";  // an IPv6 address here makes an IPv6 packet
  std::string dst = "10.0.0.2";
  std::uint8_t ttl = 64;         // hop limit for IPv6
  std::uint16_t id = 0x1234;     // IPv4 identification
  bool df = true;
  bool mf = false;
  std::uint16_t frag_offset = 0;  // bytes (multiple of 8)
  std::uint8_t tos = 0;           // traffic class for IPv6
  std::uint32_t flow_label = 0;
  Bytes v4_options;               // raw IPv4 option bytes, padded with EOL to a multiple of 4
  std::vector<Ipv6Ext> v6_ext;    // extension headers before the transport header
  bool bad_checksum = false;      // IPv4 header checksum off by one
  std::optional<std::uint16_t> length;   // override IPv4 total length / IPv6 payload length
  std::optional<std::uint8_t> ihl_words; // override IPv4 ihl (4-byte words)
  std::optional<std::uint8_t> version;   // override the version nibble
};

// An IP packet carrying `proto` with transport bytes `l4` as given (no checksum work).
Bytes ip_packet(const IpSpec& ip, std::uint8_t proto, const Bytes& l4);

// The transport checksum of l4 (checksum field included as it is) with the pseudo-header of ip.
std::uint16_t transport_checksum(const IpSpec& ip, std::uint8_t proto, const Bytes& l4);

namespace tcp_opt {
Bytes mss(std::uint16_t v);
Bytes wscale(std::uint8_t shift);
Bytes sack_permitted();
Bytes sack(std::initializer_list<SackBlock> blocks);
Bytes timestamps(std::uint32_t val, std::uint32_t ecr);
Bytes nop();
Bytes eol();
}  // namespace tcp_opt

struct TcpSpec {
  IpSpec ip;
  std::uint16_t sport = 40000, dport = 9000;
  std::uint32_t seq = 1000, ack = 0;
  std::uint16_t flags = tcpflag::kAck;
  std::uint16_t window = 65535;
  std::uint16_t urgent = 0;
  Bytes options;  // tcp_opt:: bytes, padded with EOL to a multiple of 4
  Bytes payload;
  bool bad_checksum = false;
  std::optional<std::uint8_t> data_offset_words;  // override the data offset
};
Bytes tcp_segment(const TcpSpec& s);  // the TCP header and payload, checksum filled in
Bytes tcp_packet(const TcpSpec& s);   // the IP packet

struct UdpSpec {
  IpSpec ip;
  std::uint16_t sport = 40000, dport = 9000;
  Bytes payload;
  bool bad_checksum = false;
  bool zero_checksum = false;           // "no checksum" (IPv4)
  std::optional<std::uint16_t> length;  // override the length field
};
Bytes udp_datagram(const UdpSpec& s);  // the UDP header and payload
Bytes udp_packet(const UdpSpec& s);    // the IP packet

// ICMP over IPv4, ICMPv6 over IPv6 (chosen by ip.src). rest: bytes 4..7 of the header
// (identifier and sequence for echo, next-hop MTU for "fragmentation needed").
struct IcmpSpec {
  IpSpec ip;
  std::uint8_t type = 8, code = 0;
  std::uint32_t rest = 0;
  Bytes body;
  bool bad_checksum = false;
};
Bytes icmp_packet(const IcmpSpec& s);
// A destination-unreachable error answering `offending` (an IP packet): source and destination
// swapped, quoting up to max_quote bytes of it (Linux quotes as much as fits in 576 bytes).
// code: for IPv4 3 = port unreachable, 4 = fragmentation needed (with mtu); for IPv6 4 = port.
Bytes icmp_unreachable(const Bytes& offending, std::optional<std::uint8_t> code = std::nullopt,
                       std::uint16_t mtu = 0, std::size_t max_quote = 548);

// Splits an IP packet into fragments carrying at most max_payload bytes of its payload each
// (a multiple of 8). IPv4: the header is copied with new offsets; IPv6: a fragment header is
// inserted after the 40-byte header (with `id`).
std::vector<Bytes> ipv4_fragments(const Bytes& packet, std::size_t max_payload);
std::vector<Bytes> ipv6_fragments(const Bytes& packet, std::size_t max_payload, std::uint32_t id);

// Decodes `frame` (decode_frame, no reassembly) and keeps the bytes alive for the rest of the test
// run, since Packet::payload points into them. caplen and wirelen 0 mean the frame's size.
Packet decode_kept(std::uint32_t linktype, Bytes frame, std::uint32_t caplen = 0, std::uint32_t wirelen = 0);

// Link layers.
struct VlanTag {
  std::uint16_t id = 1;
  std::uint8_t pcp = 0;
  std::uint16_t tpid = 0x8100;  // 0x88A8 for an 802.1ad service tag
};
struct EthSpec {
  std::string src = "02:00:00:00:00:01";
  std::string dst = "02:00:00:00:00:02";
  std::vector<VlanTag> vlans;                    // outermost first
  std::optional<std::uint16_t> pppoe_session;    // wrap in a PPPoE session (0x8864)
  std::optional<std::uint16_t> ethertype;        // override (default from the IP version)
  std::size_t pad_to = 0;                        // pad the frame with zeros to this length (60)
};
Bytes ethernet_frame(const Bytes& payload, const EthSpec& e = {});

// BSD loopback. family 0: 2 for IPv4, 24 for IPv6 (the OpenBSD/NetBSD value).
Bytes null_frame(const Bytes& ip, std::uint32_t family = 0, bool big_endian = false);
Bytes loop_frame(const Bytes& ip, std::uint32_t family = 0, bool big_endian = true);

struct SllSpec {
  std::uint16_t pkttype = 0;      // 0 to us, 4 outgoing
  std::uint16_t hatype = 1;       // ARPHRD_ETHER; 772 loopback
  std::string addr = "02:00:00:00:00:01";
  std::uint32_t ifindex = 1;      // SLL2
  std::optional<std::uint16_t> protocol;
  std::vector<VlanTag> vlans;
};
Bytes sll_frame(const Bytes& ip, const SllSpec& s = {});
Bytes sll2_frame(const Bytes& ip, const SllSpec& s = {});

// The frame for `ip` in the default form of a link type (Ethernet, NULL, LOOP, SLL, SLL2, raw).
Bytes link_frame(std::uint32_t linktype, const Bytes& ip);

struct ArpSpec {
  std::uint16_t op = 1;  // 1 request, 2 reply
  std::string sender_mac = "02:00:00:00:00:01";
  std::string sender_ip = "10.0.0.1";
  std::string target_mac = "00:00:00:00:00:00";
  std::string target_ip = "10.0.0.2";
};
Bytes arp_body(const ArpSpec& a);
Bytes arp_frame(const ArpSpec& a, const EthSpec& e = {});  // Ethernet, EtherType 0x0806

// Tunnels (RFC 2784/2890 GRE, ERSPAN II/III, RFC 7348 VXLAN, RFC 8926 Geneve, RFC 3032 MPLS).
struct GreSpec {
  std::uint16_t protocol = 0x0800;  // EtherType of what follows: 0x86DD, 0x6558 bridging, 0x88BE, 0x22EB
  bool checksum = false;            // C bit: checksum and reserved words (filled with zeros)
  std::optional<std::uint32_t> key;
  std::optional<std::uint32_t> seq;
  std::uint8_t version = 0;
  bool routing = false;             // R bit (RFC 1701 source routing)
};
Bytes gre_header(const GreSpec& g);
// The outer IP packet (protocol 47) carrying the GRE header and `inner`.
Bytes gre_packet(const IpSpec& outer, const GreSpec& g, const Bytes& inner);
// ERSPAN type II (version 1, 8 bytes) and type III (version 2, 12 bytes; 20 with the platform
// subheader); frame_type 0 is Ethernet.
Bytes erspan2_header(std::uint16_t session, std::uint16_t vlan);
Bytes erspan3_header(std::uint16_t session, std::uint16_t vlan, bool platform_subheader = false,
                     std::uint8_t frame_type = 0);
// A UDP datagram to port 4789 carrying the VXLAN header (I flag) and an Ethernet frame.
Bytes vxlan_packet(const IpSpec& outer, std::uint32_t vni, const Bytes& inner_frame, std::uint16_t sport = 54321);
// A UDP datagram to port 6081: Geneve with `option_words` 4-byte words of options (one option),
// protocol an EtherType (0x6558: an Ethernet frame follows).
Bytes geneve_packet(const IpSpec& outer, std::uint32_t vni, std::uint16_t protocol, const Bytes& inner,
                    std::uint8_t option_words = 0, std::uint8_t version = 0);
// MPLS label stack entries, outermost first; the last one has the bottom-of-stack bit unless
// `bottom` is false.
Bytes mpls_stack(const std::vector<std::uint32_t>& labels, std::uint8_t ttl = 64, bool bottom = true);

// Link types other than the common ones.
Bytes fddi_frame(const Bytes& ip);    // frame control, MACs, 802.2 LLC SNAP with the EtherType
Bytes ipoib_frame(const Bytes& ip);   // RFC 4391: EtherType and 2 reserved bytes
// Linux NFLOG: a prefix attribute, then the packet attribute; lengths in the host's byte order.
Bytes nflog_frame(const Bytes& ip, bool big_endian = false);
// ARCNET, BSD or Linux header; type 240 (RFC 1051 IP) has no split flag, 212 (RFC 1201 IP) and 196
// (IPv6) do (flag `split_flag`, sequence number 1).
Bytes arcnet_frame(const Bytes& ip, bool linux_header = false, std::uint8_t type = 212, std::uint8_t split_flag = 0);

// A set of well-formed frames covering every link type and protocol the decoder knows, for tests
// that run over many kinds of frame (every prefix truncates, bit flips never crash, views render).
struct SampleFrame {
  std::string name;
  std::uint32_t linktype = linktype::kEthernet;
  Bytes bytes;
};
std::vector<SampleFrame> sample_frames();

// A TCP conversation that keeps each side's next sequence number, so tests can write the
// segments of a connection in order and change only what they test.
class TcpFlow {
 public:
  TcpFlow(std::string client, std::uint16_t client_port, std::string server,
          std::uint16_t server_port, std::uint32_t isn_client = 1000, std::uint32_t isn_server = 5000);
  // A segment from the client (c2s) or the server (s2c): seq is the side's next number, ack the
  // other side's next number when the ACK flag is set; the side's next number then advances by
  // the payload (+1 for SYN, +1 for FIN).
  TcpSpec c2s(std::uint16_t flags, std::string_view payload = {});
  TcpSpec s2c(std::uint16_t flags, std::string_view payload = {});
  // SYN (with MSS 1460), SYN-ACK (MSS 1460), ACK.
  std::vector<TcpSpec> handshake();

  std::string client, server;
  std::uint16_t client_port, server_port;
  std::uint32_t client_next, server_next;

 private:
  TcpSpec make(bool from_client, std::uint16_t flags, std::string_view payload);
};

}  // namespace sockscope::testing
