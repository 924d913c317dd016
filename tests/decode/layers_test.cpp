// The OSI layer map (docs/glossary.md): names, layers, offsets and fields of each header present.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "frame_builder.hpp"
#include "sockscope/decode/decode.hpp"
#include "sockscope/decode/layers.hpp"

using namespace sockscope;
using namespace sockscope::testing;

namespace {

struct Layer {
  Osi osi;
  std::string name;
  std::uint32_t offset, length;
  std::map<std::string, Field> fields;
  std::map<std::string, std::string> texts;  // copies: composed text lives only during field()
};

class Recorder : public LayerVisitor {
 public:
  void begin_layer(Osi osi, const char* name, std::uint32_t offset, std::uint32_t length) override {
    layers.push_back(Layer{osi, name, offset, length, {}, {}});
  }
  void field(const Field& f) override {
    ASSERT_FALSE(layers.empty());
    EXPECT_EQ(layers.back().fields.count(f.key), 0u) << "duplicate key " << f.key;
    layers.back().fields[f.key] = f;
    if (f.kind == Field::Kind::Text) layers.back().texts[f.key] = std::string(f.text);
  }
  void end_layer() override {}
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (const Layer& l : layers) v.push_back(l.name);
    return v;
  }
  std::vector<Layer> layers;
};

Recorder visit(std::uint32_t lt, const Bytes& b, std::uint32_t caplen = 0) {
  Packet p;
  decode_frame(lt, b.data(), caplen ? caplen : static_cast<std::uint32_t>(b.size()),
               static_cast<std::uint32_t>(b.size()), p);
  Recorder r;
  visit_layers(p, r);
  return r;
}

using Names = std::vector<std::string>;

}  // namespace

TEST(LayerMap, EthernetIpv4TcpPayload) {
  TcpSpec t;
  t.flags = tcpflag::kPsh | tcpflag::kAck;
  t.seq = 7;
  t.ip.id = 0x3b2a;
  t.options = cat({tcp_opt::nop(), tcp_opt::nop(), tcp_opt::timestamps(5, 6)});
  t.payload = bytes_of("hello");
  const Recorder r = visit(linktype::kEthernet, ethernet_frame(tcp_packet(t)));
  ASSERT_EQ(r.names(), (Names{"ethernet", "ipv4", "tcp", "payload"}));
  const Layer& eth = r.layers[0];
  EXPECT_EQ(eth.osi, Osi::DataLink);
  EXPECT_EQ(eth.length, 14u);
  EXPECT_EQ(eth.fields.at("type").u, 0x0800u);
  EXPECT_EQ(eth.fields.at("type").kind, Field::Kind::Hex);
  EXPECT_EQ(eth.fields.at("src").mac, mac_addr("02:00:00:00:00:01"));
  const Layer& ip = r.layers[1];
  EXPECT_EQ(ip.osi, Osi::Network);
  EXPECT_EQ(ip.offset, 14u);
  EXPECT_EQ(ip.length, 20u);
  EXPECT_EQ(ip.fields.at("id").u, 0x3b2au);
  EXPECT_EQ(ip.fields.at("id").kind, Field::Kind::Hex);
  EXPECT_EQ(ip.fields.at("id").offset, 18u);
  EXPECT_EQ(ip.fields.at("ttl").u, 64u);
  EXPECT_EQ(ip.fields.at("df").u, 1u);
  EXPECT_EQ(ip.fields.at("header_len").u, 20u);
  EXPECT_EQ(ip.fields.at("checksum_ok").u, 1u);
  EXPECT_EQ(ip.fields.at("src").ip, ip_addr("10.0.0.1"));
  const Layer& tcp = r.layers[2];
  EXPECT_EQ(tcp.osi, Osi::Transport);
  EXPECT_EQ(tcp.offset, 34u);
  EXPECT_EQ(tcp.length, 32u);
  EXPECT_EQ(tcp.texts.at("flags"), "PSH,ACK");
  EXPECT_EQ(tcp.fields.at("seq").u, 7u);
  EXPECT_EQ(tcp.fields.at("seq").offset, 38u);
  EXPECT_EQ(tcp.fields.at("ts_val").u, 5u);
  EXPECT_EQ(tcp.fields.at("checksum_ok").u, 1u);
  EXPECT_EQ(tcp.fields.count("mss"), 0u);
  const Layer& pl = r.layers[3];
  EXPECT_EQ(pl.osi, Osi::Application);
  EXPECT_EQ(pl.offset, 66u);
  EXPECT_EQ(pl.length, 5u);
  EXPECT_EQ(pl.fields.at("length").u, 5u);
  EXPECT_EQ(pl.fields.at("captured").u, 5u);
}

TEST(LayerMap, TcpOptionsAndSackText) {
  TcpSpec t;
  t.flags = tcpflag::kSyn | tcpflag::kEce | tcpflag::kCwr;
  t.options = cat({tcp_opt::mss(1460), tcp_opt::sack_permitted(), tcp_opt::wscale(7), tcp_opt::nop(),
                   tcp_opt::nop(), tcp_opt::sack({{10, 20}, {30, 40}})});
  const Recorder r = visit(linktype::kRaw, tcp_packet(t));
  ASSERT_EQ(r.names(), (Names{"ipv4", "tcp"}));
  const Layer& tcp = r.layers[1];
  EXPECT_EQ(tcp.texts.at("flags"), "SYN,ECE,CWR");
  EXPECT_EQ(tcp.fields.at("mss").u, 1460u);
  EXPECT_EQ(tcp.fields.at("wscale").u, 7u);
  EXPECT_EQ(tcp.fields.at("sack_permitted").u, 1u);
  EXPECT_EQ(tcp.texts.at("sack"), "10-20 30-40");
}

TEST(LayerMap, VlanAndPppoe) {
  UdpSpec u;
  u.payload = bytes_of("x");
  EthSpec e;
  e.vlans = {VlanTag{10, 0, 0x88A8}, VlanTag{20, 3, 0x8100}};
  e.pppoe_session = 0x99;
  const Recorder r = visit(linktype::kEthernet, ethernet_frame(udp_packet(u), e));
  ASSERT_EQ(r.names(), (Names{"ethernet", "vlan", "vlan", "pppoe", "ipv4", "udp", "payload"}));
  EXPECT_EQ(r.layers[0].fields.at("type").u, 0x88A8u);
  EXPECT_EQ(r.layers[1].offset, 14u);
  EXPECT_EQ(r.layers[1].fields.at("id").u, 10u);
  EXPECT_EQ(r.layers[1].fields.at("tpid").u, 0x88A8u);
  EXPECT_EQ(r.layers[1].fields.at("type").u, 0x8100u);
  EXPECT_EQ(r.layers[2].offset, 18u);
  EXPECT_EQ(r.layers[2].fields.at("pcp").u, 3u);
  EXPECT_EQ(r.layers[2].fields.at("tpid").offset, 16u);
  EXPECT_EQ(r.layers[2].fields.at("type").u, 0x8864u);
  EXPECT_EQ(r.layers[3].offset, 22u);
  EXPECT_EQ(r.layers[3].fields.at("session").u, 0x99u);
  EXPECT_EQ(r.layers[3].fields.at("ppp_protocol").u, 0x21u);
  EXPECT_EQ(r.layers[4].offset, 30u);
}

TEST(LayerMap, LoopbackAndCookedHeaders) {
  UdpSpec u;
  const Bytes ip = udp_packet(u);
  Recorder r = visit(linktype::kNull, null_frame(ip, 2));
  ASSERT_EQ(r.names(), (Names{"null", "ipv4", "udp"}));
  EXPECT_EQ(r.layers[0].fields.at("family").u, 2u);
  r = visit(linktype::kLoop, loop_frame(ip, 2));
  EXPECT_EQ(r.names(), (Names{"loop", "ipv4", "udp"}));
  r = visit(linktype::kLinuxSll, sll_frame(ip));
  ASSERT_EQ(r.names(), (Names{"sll", "ipv4", "udp"}));
  EXPECT_EQ(r.layers[0].fields.at("protocol").u, 0x0800u);
  r = visit(linktype::kLinuxSll2, sll2_frame(ip));
  ASSERT_EQ(r.names(), (Names{"sll2", "ipv4", "udp"}));
  EXPECT_EQ(r.layers[0].fields.at("ifindex").u, 1u);
  r = visit(linktype::kRaw, ip);
  EXPECT_EQ(r.names(), (Names{"ipv4", "udp"}));
}

TEST(LayerMap, Arp) {
  const Recorder r = visit(linktype::kEthernet, arp_frame(ArpSpec{}));
  ASSERT_EQ(r.names(), (Names{"ethernet", "arp"}));
  EXPECT_EQ(r.layers[1].osi, Osi::DataLink);
  EXPECT_EQ(r.layers[1].length, 28u);
  EXPECT_EQ(r.layers[1].fields.at("op").u, 1u);
  EXPECT_EQ(r.layers[1].texts.at("op_name"), "request");
  EXPECT_EQ(r.layers[1].fields.at("target_ip").ip, ip_addr("10.0.0.2"));
}

TEST(LayerMap, Ipv6ExtensionHeadersAndIcmpv6Quote) {
  UdpSpec u;
  u.ip.src = "2001:db8::1";
  u.ip.dst = "2001:db8::2";
  u.ip.v6_ext = {hop_by_hop_ext(), dest_options_ext()};
  Recorder r = visit(linktype::kRaw, udp_packet(u));
  ASSERT_EQ(r.names(), (Names{"ipv6", "udp"}));
  EXPECT_EQ(r.layers[0].length, 56u);
  EXPECT_EQ(r.layers[0].texts.at("ext_headers"), "hop-by-hop,destination-options");
  u.ip.v6_ext.clear();
  r = visit(linktype::kRaw, icmp_unreachable(udp_packet(u)));
  ASSERT_EQ(r.names(), (Names{"ipv6", "icmpv6"}));
  const Layer& ic = r.layers[1];
  EXPECT_EQ(ic.osi, Osi::Network);
  EXPECT_EQ(ic.fields.at("type").u, 1u);
  EXPECT_EQ(ic.texts.at("type_name"), "destination unreachable");
  EXPECT_EQ(ic.fields.at("port_unreachable").u, 1u);
  EXPECT_EQ(ic.fields.at("quoted_src").ip, ip_addr("2001:db8::1"));
  EXPECT_EQ(ic.fields.at("quoted_dst_port").u, 9000u);
}

TEST(LayerMap, StopsAtTheHeaderThatFailed) {
  TcpSpec t;
  t.data_offset_words = 3;
  Recorder r = visit(linktype::kEthernet, ethernet_frame(tcp_packet(t)));
  EXPECT_EQ(r.names(), (Names{"ethernet", "ipv4", "tcp"}));  // listed with what was read, no payload
  const Bytes f = ethernet_frame(tcp_packet(TcpSpec{}));
  r = visit(linktype::kEthernet, f, 20);
  EXPECT_EQ(r.names(), (Names{"ethernet"}));
  r = visit(linktype::kEthernet, f, 10);
  EXPECT_TRUE(r.layers.empty());
}

TEST(LayerMap, ReassembledDatagramIsMarked) {
  UdpSpec u;
  u.ip.df = false;
  u.payload.assign(100, 'r');
  const auto frags = ipv4_fragments(udp_packet(u), 64);
  Decoder dec;
  Packet p;
  std::uint64_t n = 0;
  for (const Bytes& ip : frags)
    dec.decode(linktype::kRaw, ip.data(), static_cast<std::uint32_t>(ip.size()),
               static_cast<std::uint32_t>(ip.size()), Timestamp{}, ++n, p);
  ASSERT_TRUE(p.ip.reassembled);
  Recorder r;
  visit_layers(p, r);
  ASSERT_EQ(r.names(), (Names{"ipv4", "udp", "payload"}));
  EXPECT_EQ(r.layers[0].fields.at("reassembled").u, 1u);
  EXPECT_EQ(r.layers[0].fields.at("fragments").u, 2u);
  EXPECT_EQ(r.layers[2].fields.at("length").u, 100u);
  // The last fragment's offset: in bytes, and as the header holds it, in units of 8 bytes.
  const std::uint64_t bytes = r.layers[0].fields.at("frag_offset").u;
  EXPECT_GT(bytes, 0u);
  EXPECT_EQ(bytes % 8, 0u);
  EXPECT_EQ(r.layers[0].fields.at("frag_offset_raw").u, bytes / 8);
}
