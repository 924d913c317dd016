// The OSI map of a decoded packet: each header present, its layer, where it sits in the frame, and its
// fields. One source for the JSON `layers` array, the --osi view and the lessons.
#pragma once
#include <cstdint>
#include <string_view>

#include "sockscope/decode/packet.hpp"

namespace sockscope {

struct Field {
  enum class Kind : std::uint8_t { Uint, Bool, Text, Ip, Mac, Hex };
  const char* key = "";       // JSON key, snake_case: "ttl", "src_port", "flags"
  Kind kind = Kind::Uint;
  std::uint64_t u = 0;        // Uint, Bool (0/1), Hex (printed 0x..)
  std::string_view text;      // Text: static strings or bytes of the packet (views must escape them);
                              // composed text (tcp flags, sack) is valid only during field()
  IpAddr ip;
  MacAddr mac;
  std::uint32_t offset = 0;   // byte offset of the field in the frame
  std::uint32_t length = 0;   // field length in bytes (0 when it is derived, not a wire field)
};

class LayerVisitor {
 public:
  virtual ~LayerVisitor() = default;
  // name: "ethernet", "vlan", "pppoe", "null", "loop", "sll", "sll2", "arp", "ipv4", "ipv6",
  // "icmp", "icmpv6", "tcp", "udp", "payload"; the tunnel headers "gre", "erspan", "vxlan", "geneve",
  // "mpls" (is_tunnel_layer), after which the layers of the carried packet start again.
  virtual void begin_layer(Osi osi, const char* name, std::uint32_t offset, std::uint32_t length) = 0;
  virtual void field(const Field& f) = 0;
  virtual void end_layer() = 0;
};

// Whether a layer name is a tunnel header (the packet it carries follows with its own layers).
bool is_tunnel_layer(std::string_view name);

// Visits the headers of p from the outermost (layer 2) inwards, then the payload (layer 7).
void visit_layers(const Packet& p, LayerVisitor& v);

}  // namespace sockscope
