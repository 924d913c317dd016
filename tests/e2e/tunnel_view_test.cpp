// What a learner reads for a tunnelled packet and for frames sockscope does not decode: the human line
// names the tunnel, the sentence says what carried the packet and between which hosts, --osi shows the
// outer layers below the inner ones, JSON has a `tunnels` array; a link type or EtherType that is not
// decoded is named as such, never called "EtherType 0x0000". Captures are built by the byte builders.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "e2e_support.hpp"
#include "frame_builder.hpp"
#include "paths.hpp"
#include "pcap_writer.hpp"

namespace {

namespace t = sockscope::testing;

std::string write_one(const std::string& name, std::uint32_t linktype, const t::Bytes& frame) {
  const std::string path = sockscope::testing::temp_dir("tunnel-view-" + name) + "/" + name + ".pcap";
  t::PcapRecord r;
  r.ts = sockscope::Timestamp{1'700'000'000, 0};
  r.data = frame;
  EXPECT_TRUE(t::write_capture(path, t::CaptureFormat::PcapMicro, linktype, {r}));
  return path;
}

t::Bytes vxlan_frame() {
  t::IpSpec outer;
  outer.src = "198.51.100.1";
  outer.dst = "198.51.100.2";
  t::TcpSpec in;
  in.ip.src = "192.168.7.1";
  in.ip.dst = "192.168.7.2";
  in.sport = 41000;
  in.dport = 80;
  in.flags = sockscope::tcpflag::kSyn;
  return t::ethernet_frame(t::vxlan_packet(outer, 4242, t::ethernet_frame(t::tcp_packet(in))));
}

TEST(TunnelView, TheHumanLineAndSentenceNameTheTunnelAndItsEnds) {
  const std::string path = write_one("vxlan", sockscope::linktype::kEthernet, vxlan_frame());
  const e2e::RunResult r = e2e::sockscope({"annotate", "--lang", "en", path});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("192.168.7.1:41000 \xe2\x86\x92 192.168.7.2:80  TCP [S]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[in VXLAN vni 4242]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("handshake 1/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("carried inside VXLAN (network 4242) from 198.51.100.1 to 198.51.100.2"), std::string::npos)
      << r.out;
}

TEST(TunnelView, OsiShowsTheInnerLayersAboveTheTunnelAndTheOuterOnes) {
  const std::string path = write_one("vxlan-osi", sockscope::linktype::kEthernet, vxlan_frame());
  const e2e::RunResult r = e2e::sockscope({"annotate", "--lang", "en", "--osi", path});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto at = [&](const std::string& s) { return r.out.find(s); };
  // Innermost first: inner TCP, inner IP, inner Ethernet, the VXLAN header, outer UDP, outer IP, outer Ethernet.
  const std::vector<std::string> order = {
      "tcp (header 20 B at byte 84)",   "ipv4 (header 20 B at byte 64)", "ethernet (header 14 B at byte 50)",
      "vxlan (header 8 B at byte 42)",  "udp (header 8 B at byte 34)",   "ipv4 (header 20 B at byte 14)",
      "ethernet (header 14 B at byte 0)"};
  std::size_t last = 0;
  for (const std::string& s : order) {
    const std::size_t pos = at(s);
    ASSERT_NE(pos, std::string::npos) << s << "\n" << r.out;
    EXPECT_GT(pos, last) << s << "\n" << r.out;
    last = pos;
  }
  EXPECT_NE(at("(a tunnel: the layers above travel inside the layers below)"), std::string::npos) << r.out;
}

TEST(TunnelView, JsonHasTheTunnelsAndTheLayersOfBothPackets) {
  const std::string path = write_one("vxlan-json", sockscope::linktype::kEthernet, vxlan_frame());
  const e2e::RunResult r = e2e::sockscope({"annotate", "--json", path});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string error;
  const std::vector<e2e::Json> lines = e2e::json_lines(r.out, error);
  ASSERT_EQ(error, "");
  const std::vector<const e2e::Json*> packets = e2e::of_type(lines, "packet");
  ASSERT_EQ(packets.size(), 1u);
  const e2e::Json& p = *packets[0];
  EXPECT_EQ(p["src"].str(), "192.168.7.1:41000");
  ASSERT_EQ(p["tunnels"].size(), 1u);
  EXPECT_EQ(p["tunnels"][std::size_t{0}].dump(),
            R"({"kind":"vxlan","src":"198.51.100.1","dst":"198.51.100.2","vni":4242})");
  std::string names;
  for (std::size_t i = 0; i < p["layers"].size(); ++i) names += p["layers"][i]["name"].str() + " ";
  EXPECT_EQ(names, "ethernet ipv4 udp vxlan ethernet ipv4 tcp ");
  EXPECT_EQ(p["layers"][3]["fields"]["vni"].i64(), 4242);
  EXPECT_EQ(p["layers"][3]["osi"].i64(), 2);
}

TEST(TunnelView, WhatIsNotDecodedIsNamedNotMisnamed) {
  struct Case {
    std::string name;
    std::uint32_t linktype;
    t::Bytes frame;
    std::string says;
  };
  t::EthSpec lldp;
  lldp.ethertype = 0x88CC;
  t::Bytes fddi_llc = t::fddi_frame(t::udp_packet(t::UdpSpec{}));
  fddi_llc[13] = 0x42;  // spanning tree's LLC, not SNAP
  fddi_llc[14] = 0x42;
  const std::vector<Case> cases = {
      {"user0", 147, t::bytes_of("a private link layer"), "link type 147 (USER0) is not decoded"},
      {"unnamed", 4000, t::bytes_of("a link layer nobody named"), "link type 4000 is not decoded"},
      {"lldp", sockscope::linktype::kEthernet, t::ethernet_frame(t::Bytes(46, 0), lldp),
       "not an IP packet: EtherType 0x88cc (LLDP)"},
      {"fddi-llc", sockscope::linktype::kFddi, fddi_llc, "an FDDI frame that does not carry IP"},
      {"arcnet-split", sockscope::linktype::kArcnetBsd, t::arcnet_frame(t::udp_packet(t::UdpSpec{}), false, 212, 3),
       "one part of an ARCNET packet split over several frames"},
  };
  for (const Case& c : cases) {
    const std::string path = write_one(c.name, c.linktype, c.frame);
    const e2e::RunResult r = e2e::sockscope({"annotate", "--lang", "en", path});
    ASSERT_EQ(r.status, 0) << c.name << ": " << r.err;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.name << ":\n" << r.out;
    EXPECT_EQ(r.out.find("EtherType 0x0000"), std::string::npos) << c.name << ":\n" << r.out;
  }
}

}  // namespace
