// Rendering of visit_layers() (layers.hpp): the --osi block of the human view and the JSON `layers`
// array. Both keep their buffers between packets.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sockscope/decode/layers.hpp"
#include "sockscope/decode/packet.hpp"

namespace sockscope::views {

// The OSI breakdown of one packet, L7 at the top down to L1, as in docs/osi.md:
//   frame 4  66 bytes on the wire, 66 captured
//     L7 application   payload  "hello" (5 bytes)
//     L5-6             (no header of their own in TCP/IP: ...)
//     L4 transport     tcp  src_port 51514  dst_port 9000 ...  header 32 B
//     ...
//     L1 physical      (not in a capture: ...)
class OsiBlock final : public LayerVisitor {
 public:
  // Appends the block to out, each line starting with indent.
  void render(const Packet& p, std::string& out, const char* indent);

  void begin_layer(Osi osi, const char* name, std::uint32_t offset, std::uint32_t length) override;
  void field(const Field& f) override;
  void end_layer() override;

 private:
  struct Line {
    Osi osi = Osi::DataLink;
    std::string text;
  };
  std::vector<Line> lines_;  // reused: cleared, never shrunk
  std::size_t used_ = 0;
  bool in_payload_ = false;
  const Packet* packet_ = nullptr;  // during render()
};

// Appends a JSON array of {"osi":N,"name":..,"fields":{...}} for p.
class JsonLayers final : public LayerVisitor {
 public:
  void render(const Packet& p, std::string& out);

  void begin_layer(Osi osi, const char* name, std::uint32_t offset, std::uint32_t length) override;
  void field(const Field& f) override;
  void end_layer() override;

 private:
  std::string* out_ = nullptr;
  bool first_layer_ = true;
  bool first_field_ = true;
  bool open_ = false;
};

// A field's value as text for people (escaped), or as a JSON value.
void append_field_text(std::string& out, const Field& f);
void append_field_json(std::string& out, const Field& f);

}  // namespace sockscope::views
