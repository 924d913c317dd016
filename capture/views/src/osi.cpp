#include "osi.hpp"

#include <cstring>

#include "sockscope/text/escape.hpp"
#include "format.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope::views {
namespace {

// Bytes of a Text field shown in the OSI block (the payload can be 64 KiB).
constexpr std::size_t kTextPreview = 40;

const char* osi_label(Osi osi) {
  switch (osi) {
    case Osi::Physical: return "L1 physical    ";
    case Osi::DataLink: return "L2 data link   ";
    case Osi::Network: return "L3 network     ";
    case Osi::Transport: return "L4 transport   ";
    case Osi::SessionPresentation: return "L5-6           ";
    case Osi::Application: return "L7 application ";
  }
  return "L? ";
}

void append_hex(std::string& out, std::uint64_t v) { appendf(out, "0x%llx", static_cast<unsigned long long>(v)); }

}  // namespace

void append_field_text(std::string& out, const Field& f) {
  switch (f.kind) {
    case Field::Kind::Uint: append_u64(out, f.u); break;
    case Field::Kind::Bool: out += f.u ? "yes" : "no"; break;
    case Field::Kind::Hex: append_hex(out, f.u); break;
    case Field::Kind::Ip: append_ip(out, f.ip); break;
    case Field::Kind::Mac: append_mac(out, f.mac); break;
    case Field::Kind::Text:
      out += '"';
      escape_text(out, reinterpret_cast<const std::uint8_t*>(f.text.data()), f.text.size(), kTextPreview);
      out += '"';
      break;
  }
}

void append_field_json(std::string& out, const Field& f) {
  switch (f.kind) {
    case Field::Kind::Uint: append_u64(out, f.u); break;
    case Field::Kind::Bool: out += f.u ? "true" : "false"; break;
    case Field::Kind::Hex:
      out += '"';
      append_hex(out, f.u);
      out += '"';
      break;
    case Field::Kind::Ip:
      out += '"';
      append_ip(out, f.ip);
      out += '"';
      break;
    case Field::Kind::Mac:
      out += '"';
      append_mac(out, f.mac);
      out += '"';
      break;
    case Field::Kind::Text: json_string(out, f.text); break;
  }
}

// ---- OsiBlock ------------------------------------------------------------------------------------

void OsiBlock::render(const Packet& p, std::string& out, const char* indent) {
  used_ = 0;
  in_payload_ = false;
  packet_ = &p;
  visit_layers(p, *this);
  packet_ = nullptr;

  out += indent;
  appendf_tr(out, tr("frame %1$llu  %2$u bytes on the wire, %3$u captured"), static_cast<unsigned long long>(p.frame),
             p.wirelen, p.caplen);
  if (p.several_interfaces) {
    out += "  ";
    append_interface(out, p);
  }
  out += '\n';
  const auto emit = [&](Osi osi, const std::string& text) {
    out += indent;
    out += "  ";
    out += osi_label(osi);
    out += ' ';
    out += text;
    out += '\n';
  };
  // Innermost first: the learner reads the message, then what carried it.
  bool any_app = false;
  for (std::size_t i = used_; i-- > 0;) {
    if (lines_[i].osi == Osi::Application) {
      emit(Osi::Application, lines_[i].text);
      any_app = true;
    }
  }
  if (!any_app) {
    out += indent;
    out += "  ";
    out += osi_label(Osi::Application);
    out += ' ';
    out += tr("(no payload)");
    out += '\n';
  }
  out += indent;
  out += "  ";
  out += osi_label(Osi::SessionPresentation);
  out += ' ';
  out += tr("(no header of their own in TCP/IP: the program itself keeps the conversation and the text encoding)");
  out += '\n';
  for (std::size_t i = used_; i-- > 0;)
    if (lines_[i].osi != Osi::Application && lines_[i].osi != Osi::Physical) emit(lines_[i].osi, lines_[i].text);
  out += indent;
  out += "  ";
  out += osi_label(Osi::Physical);
  out += ' ';
  out += tr("(not in a capture: bits on the wire, preamble, frame check sequence)");
  out += '\n';
}

void OsiBlock::begin_layer(Osi osi, const char* name, std::uint32_t offset, std::uint32_t length) {
  if (used_ == lines_.size()) lines_.emplace_back();
  Line& l = lines_[used_++];
  l.osi = osi;
  l.text.clear();
  in_payload_ = osi == Osi::Application;
  if (in_payload_ && packet_ != nullptr) {
    // The message itself, as the chat program sent it (escaped), rather than its length fields.
    const Packet& p = *packet_;
    l.text += '"';
    escape_text(l.text, p.payload, p.payload_captured, kTextPreview, p.payload_len > p.payload_captured);
    l.text += "\" ";
    appendf_tr(l.text, tr("(%1$u bytes at byte %2$u): the program's message"), p.payload_len, offset);
    return;
  }
  escape_text(l.text, name ? name : "?");
  appendf_tr(l.text, tr(" (header %1$u B at byte %2$u)"), length, offset);
  if (name != nullptr && is_tunnel_layer(name)) {
    l.text += "  ";
    l.text += tr("(a tunnel: the layers above travel inside the layers below)");
  }
}

void OsiBlock::field(const Field& f) {
  if (used_ == 0 || in_payload_) return;
  std::string& t = lines_[used_ - 1].text;
  const std::string_view key = f.key ? f.key : "?";
  // The fragment offset is the one field the header holds in units (of 8 bytes): shown as on the
  // wire, with its value in bytes beside it, once ("frag_offset 185 (in 8-byte units: byte 1480)").
  if (key == "frag_offset") return;
  t += "  ";
  if (key == "frag_offset_raw") {
    t += "frag_offset ";
    append_field_text(t, f);
    t += ' ';
    appendf_tr(t, tr("(in 8-byte units: byte %llu)"), static_cast<unsigned long long>(f.u * 8));
    return;
  }
  escape_text(t, f.key ? f.key : "?");
  t += ' ';
  append_field_text(t, f);
}

void OsiBlock::end_layer() { in_payload_ = false; }

// ---- JsonLayers ----------------------------------------------------------------------------------

void JsonLayers::render(const Packet& p, std::string& out) {
  out_ = &out;
  first_layer_ = true;
  open_ = false;
  out += '[';
  visit_layers(p, *this);
  if (open_) end_layer();  // a visitor that forgot end_layer() must not break the JSON line
  out += ']';
  out_ = nullptr;
}

void JsonLayers::begin_layer(Osi osi, const char* name, std::uint32_t offset, std::uint32_t length) {
  if (open_) end_layer();
  std::string& o = *out_;
  if (!first_layer_) o += ',';
  first_layer_ = false;
  open_ = true;
  first_field_ = true;
  o += "{\"osi\":";
  append_u64(o, static_cast<std::uint64_t>(osi));
  o += ",\"name\":";
  json_string(o, name ? name : "?");
  o += ",\"offset\":";
  append_u64(o, offset);
  o += ",\"length\":";
  append_u64(o, length);
  o += ",\"fields\":{";
}

void JsonLayers::field(const Field& f) {
  if (!open_) return;
  std::string& o = *out_;
  if (!first_field_) o += ',';
  first_field_ = false;
  json_string(o, f.key ? f.key : "?");
  o += ':';
  append_field_json(o, f);
}

void JsonLayers::end_layer() {
  if (!open_) return;
  *out_ += "}}";
  open_ = false;
}

}  // namespace sockscope::views
