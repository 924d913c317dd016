// sockscope compare, the output: the side-by-side table, the two text ladders, the verdict (sentences
// chosen and filled from the measured figures, never fixed text), the JSON object and the HTML page.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "sockscope/lessons/compare.hpp"
#include "sockscope/text/escape.hpp"
#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"
#include "sockscope/text/json.hpp"

namespace sockscope::compare {

namespace {

using ull = unsigned long long;

std::string num(std::uint64_t v) { return std::to_string(v); }
std::string ms(double v) { return v < 0 ? std::string("-") : text::format("%.3f", v); }
std::string pct(double v) { return text::format("%.1f %%", v); }

struct Row {
  const char* group;  // shown on the first row of a group (translated), else nullptr
  const char* label;  // translated
  std::string tcp, udp;
  bool tcp_bad = false, udp_bad = false;  // shown in red with colour: a loss
  bool tcp_warn = false, udp_warn = false;  // shown in yellow: re-sent
};

std::vector<Row> table_rows(const Result& r) {
  const Figures& t = r.tcp;
  const Figures& u = r.udp;
  std::vector<Row> rows;
  rows.push_back({tr("messages"), tr("sent"), num(t.messages_sent), num(u.messages_sent)});
  rows.push_back({nullptr, tr("delivered"), num(t.messages_delivered), num(u.messages_delivered)});
  rows.push_back({nullptr, tr("lost"), num(t.messages_lost), num(u.messages_lost), t.messages_lost > 0,
                  u.messages_lost > 0});
  rows.push_back({nullptr, tr("duplicated"), num(t.messages_duplicated), num(u.messages_duplicated)});
  rows.push_back({nullptr, tr("merged in one recv()"), num(t.messages_merged), num(u.messages_merged)});
  rows.push_back({tr("packets"), tr("handshake"), num(t.pk_handshake), num(u.pk_handshake)});
  rows.push_back({nullptr, tr("data"), num(t.pk_data), num(u.pk_data)});
  rows.push_back({nullptr, tr("pure ACK"), num(t.pk_ack), num(u.pk_ack)});
  rows.push_back({nullptr, tr("teardown"), num(t.pk_teardown), num(u.pk_teardown)});
  rows.push_back({nullptr, tr("retransmission"), num(t.pk_retransmission), num(u.pk_retransmission), false, false,
                  t.pk_retransmission > 0, u.pk_retransmission > 0});
  rows.push_back({nullptr, tr("total"), num(t.pk_total), num(u.pk_total)});
  // The OSI names of the glossary: 2 data link, 3 network, 4 transport, 7 application.
  rows.push_back({tr("bytes"), tr("layer 2 headers (data link)"), num(t.bytes_l2), num(u.bytes_l2)});
  rows.push_back({nullptr, tr("layer 3 headers (network)"), num(t.bytes_l3), num(u.bytes_l3)});
  rows.push_back({nullptr, tr("layer 4 headers (transport)"), num(t.bytes_l4), num(u.bytes_l4)});
  rows.push_back({nullptr, tr("layer 7 payload (application)"), num(t.bytes_l7), num(u.bytes_l7)});
  rows.push_back({nullptr, tr("overhead (headers / all)"), pct(t.overhead_pct), pct(u.overhead_pct)});
  rows.push_back({tr("time"), tr("first call to first byte (ms)"), ms(t.first_byte_ms), ms(u.first_byte_ms)});
  rows.push_back({tr("calls"), tr("reads that returned data"), num(t.recv_calls), num(u.recv_calls)});
  rows.push_back({tr("re-sent"), tr("retransmissions"), num(t.retransmissions), num(u.retransmissions), false, false,
                  t.retransmissions > 0, u.retransmissions > 0});
  rows.push_back({nullptr, tr("data segments re-sent (any kind)"), num(t.resent_segments), num(u.resent_segments),
                  false, false, t.resent_segments > 0, u.resent_segments > 0});
  return rows;
}

std::string where(const Options& o) {
  if (!o.lab) return tr("on loopback (lo)");
  if (o.loss_pct > 0) return text::format(tr("between the two lab hosts, %d%% of the client's packets dropped"), o.loss_pct);
  return tr("between the two lab hosts, no loss");
}

// The verdict: each sentence is chosen by the figures and carries them.
std::vector<std::string> verdict(const Options& o, const Result& r) {
  const Figures& t = r.tcp;
  const Figures& u = r.udp;
  std::vector<std::string> v;
  if (t.pk_handshake > 0 || t.pk_teardown > 0) {
    if (u.pk_handshake == 0 && u.pk_teardown == 0)
      v.push_back(text::format(tr("TCP needed %1$llu packets before the first byte (the handshake) and %2$llu to close (the "
                         "teardown); UDP needed none: its first packet already carried a message."),
                      static_cast<ull>(t.pk_handshake), static_cast<ull>(t.pk_teardown)));
    else
      v.push_back(text::format(tr("TCP needed %1$llu packets before the first byte and %2$llu to close."),
                      static_cast<ull>(t.pk_handshake), static_cast<ull>(t.pk_teardown)));
  }
  if (o.lab && o.loss_pct > 0)
    v.push_back(text::format(tr("The lab dropped about %d%% of what the client sent, over both protocols."), o.loss_pct));
  if (u.messages_lost > 0)
    v.push_back(text::format(tr("UDP lost %1$llu of %2$llu messages and re-sent none: nothing in UDP notices a loss."),
                    static_cast<ull>(u.messages_lost), static_cast<ull>(u.messages_sent)));
  else if (u.messages_sent > 0)
    v.push_back(o.lab && o.loss_pct > 0
                    ? text::format(tr("UDP delivered all %llu messages: this time the loss rule spared them."),
                          static_cast<ull>(u.messages_sent))
                    : text::format(tr("UDP delivered all %llu messages."), static_cast<ull>(u.messages_sent)));
  if (t.messages_sent > 0) {
    const std::uint64_t quiet = t.resent_segments > t.retransmissions ? t.resent_segments - t.retransmissions : 0;
    if (t.messages_lost > 0)
      v.push_back(text::format(tr("TCP delivered %1$llu of %2$llu before the run ended (retransmissions: %3$llu)."),
                      static_cast<ull>(t.messages_delivered), static_cast<ull>(t.messages_sent),
                      static_cast<ull>(t.retransmissions)));
    else if (quiet > 0 && t.resent_segments == 1)
      v.push_back(text::format(tr("TCP delivered all %llu, re-sending one data segment; it followed its original so closely "
                         "that the capture calls it out-of-order (as Wireshark does), not a retransmission."),
                      static_cast<ull>(t.messages_sent)));
    else if (quiet > 0)
      v.push_back(text::format(tr("TCP delivered all %1$llu, re-sending %2$llu data segments (retransmissions marked by the "
                         "capture: %3$llu; a copy that follows its original very closely is called out-of-order "
                         "instead, as Wireshark does)."),
                      static_cast<ull>(t.messages_sent), static_cast<ull>(t.resent_segments),
                      static_cast<ull>(t.retransmissions)));
    else if (t.retransmissions > 0)
      v.push_back(text::format(tr("TCP delivered all %1$llu, re-sending what was lost (retransmissions: %2$llu)."), static_cast<ull>(t.messages_sent),
                      static_cast<ull>(t.retransmissions)));
    else
      v.push_back(text::format(tr("TCP delivered all %llu without re-sending anything."), static_cast<ull>(t.messages_sent)));
  }
  if (t.recv_calls > 0) {
    const std::uint64_t got = t.messages_delivered + t.messages_duplicated;
    if (t.recv_calls == 1 && got > 1)
      v.push_back(text::format(tr("TCP's single recv() call returned all %llu messages at once: a byte stream, where only the "
                         "newline at the end of each message tells them apart."),
                      static_cast<ull>(got)));
    else if (t.messages_merged > 0)
      v.push_back(text::format(tr("TCP's %1$llu recv() calls returned %2$llu messages, %3$llu of them sharing a recv() with "
                         "another: a byte stream, where only the newline at the end of each message tells "
                         "them apart."),
                      static_cast<ull>(t.recv_calls), static_cast<ull>(got), static_cast<ull>(t.messages_merged)));
    else
      v.push_back(text::format(tr("TCP's %llu recv() calls each returned one message this time (the reader kept up), but "
                         "TCP keeps no boundaries: only the newline at the end of each message tells them apart."),
                      static_cast<ull>(t.recv_calls)));
  }
  if (u.recv_calls == 1 && u.messages_merged == 0)
    v.push_back(tr("UDP's single recvfrom() call returned one message: datagram boundaries are kept."));
  else if (u.recv_calls > 0 && u.messages_merged == 0)
    v.push_back(text::format(tr("UDP's %llu recvfrom() calls returned one message each: datagram boundaries are kept."),
                    static_cast<ull>(u.recv_calls)));
  const std::uint64_t t_all = t.bytes_l2 + t.bytes_l3 + t.bytes_l4 + t.bytes_l7;
  const std::uint64_t u_all = u.bytes_l2 + u.bytes_l3 + u.bytes_l4 + u.bytes_l7;
  if (t.pk_total > 0 && u.pk_total > 0)
    v.push_back(text::format(tr("On the wire TCP took %1$llu packets and %2$llu bytes (%3$.1f%% of them headers), UDP %4$llu "
                       "packets and %5$llu bytes (%6$.1f%% headers)."),
                    static_cast<ull>(t.pk_total), static_cast<ull>(t_all), t.overhead_pct,
                    static_cast<ull>(u.pk_total), static_cast<ull>(u_all), u.overhead_pct));
  if (t.first_byte_ms >= 0 && u.first_byte_ms >= 0) {
    std::string s = text::format(tr("The first byte reached the server %1$.3f ms after the client's socket() over TCP, "
                           "%2$.3f ms over UDP."),
                        t.first_byte_ms, u.first_byte_ms);
    if (t.retransmissions > 0 && t.first_byte_ms > 150 && t.first_byte_ms > 10 * u.first_byte_ms)
      s = text::format(tr("The first byte reached the server %1$.3f ms after the client's socket() over TCP, %2$.3f ms over "
                 "UDP. TCP's came late: something it sent first was lost and re-sent only after a timeout (about 1 s "
                 "for a SYN, 200 ms or more for data)."),
              t.first_byte_ms, u.first_byte_ms);
    else if (t.first_byte_ms > u.first_byte_ms)
      s = text::format(tr("The first byte reached the server %1$.3f ms after the client's socket() over TCP, %2$.3f ms over "
                 "UDP. TCP sends nothing before its handshake is done."),
              t.first_byte_ms, u.first_byte_ms);
    v.push_back(s);
  }
  if (!o.lab && u.messages_lost == 0 && t.messages_lost == 0)
    v.push_back(tr("On loopback nothing is lost: sudo sockscope compare --lab --loss 20 shows what loss does."));
  return v;
}

// Cuts or pads text (already safe for a terminal) to w columns.
std::string fit(std::string s, std::size_t w) {
  while (text::display_width(s) > w && !s.empty()) {
    s.pop_back();
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80) != 0) {
      // A lead byte without its continuation: drop it too.
      const auto c = static_cast<unsigned char>(s.back());
      if ((c & 0xC0) == 0xC0) s.pop_back();
    }
  }
  return text::pad_right(s, w);
}

// A paragraph of the verdict, wrapped by terminal columns: Chinese lines break between characters,
// never before '，' or '。' (text::wrap_text).
void wrap(std::string& out, const std::string& text, std::size_t width, const char* indent) {
  out += text::wrap_text(text, width, indent, indent);
}

const char* kBold = "\x1b[1m";
const char* kRed = "\x1b[31m";
const char* kYellow = "\x1b[33m";
const char* kReset = "\x1b[0m";

std::string paint(const std::string& s, bool on, const char* code, bool color) {
  return color && on ? code + s + kReset : s;
}

// A figure kept to the decimals the text shows (0.01 %, 1 µs), so the JSON says no more than it knows.
double rounded(double v, double unit) { return std::round(v / unit) * unit; }

text::Json json_figures(const Figures& f) {
  return {{"messages_sent", f.messages_sent},
          {"messages_delivered", f.messages_delivered},
          {"messages_lost", f.messages_lost},
          {"messages_duplicated", f.messages_duplicated},
          {"messages_merged", f.messages_merged},
          {"packets",
           {{"handshake", f.pk_handshake},
            {"data", f.pk_data},
            {"ack", f.pk_ack},
            {"teardown", f.pk_teardown},
            {"retransmission", f.pk_retransmission},
            {"total", f.pk_total}}},
          {"bytes_by_layer", {{"2", f.bytes_l2}, {"3", f.bytes_l3}, {"4", f.bytes_l4}, {"7", f.bytes_l7}}},
          {"overhead_pct", rounded(f.overhead_pct, 0.01)},
          {"first_byte_ms", f.first_byte_ms < 0 ? text::Json() : text::Json(rounded(f.first_byte_ms, 0.001))},
          {"retransmissions", f.retransmissions},
          {"recv_calls", f.recv_calls},
          {"resent_segments", f.resent_segments}};
}

}  // namespace

std::string render_text(const Options& opts, const Result& r, int width, bool color) {
  const std::size_t w = static_cast<std::size_t>(width < 60 ? 60 : width > 200 ? 200 : width);
  std::string o;
  o += paint(text::format(tr("sockscope compare: %1$d messages of %2$d bytes over TCP, then over UDP, %3$s"), opts.messages,
                 opts.size, where(opts).c_str()),
             true, kBold, color);
  o += "\n\n";
  constexpr std::size_t kGroup = 10, kLabel = 32, kValue = 12;
  o += paint(fit("", kGroup + kLabel) + text::pad_left("TCP", kValue) + text::pad_left("UDP", kValue), true, kBold, color) + "\n";
  for (const Row& row : table_rows(r)) {
    o += fit(row.group ? row.group : "", kGroup) + fit(row.label, kLabel);
    o += row.tcp_bad ? paint(text::pad_left(row.tcp, kValue), true, kRed, color)
                     : paint(text::pad_left(row.tcp, kValue), row.tcp_warn, kYellow, color);
    o += row.udp_bad ? paint(text::pad_left(row.udp, kValue), true, kRed, color)
                     : paint(text::pad_left(row.udp, kValue), row.udp_warn, kYellow, color);
    o += "\n";
  }

  // The two ladders, one short line per packet, side by side.
  const std::size_t col = std::min<std::size_t>(48, (w - 3) / 2);
  o += "\n" + paint(fit(tr("TCP, packet by packet"), col) + " | " + tr("UDP, packet by packet"), true, kBold, color) +
       "\n";
  const std::size_t n = std::max(r.tcp_ladder.size(), r.udp_ladder.size());
  for (std::size_t i = 0; i < n; ++i) {
    // The lines hold sockscope's own words and numbers read as digits; escaped anyway.
    const std::string left = i < r.tcp_ladder.size() ? text::printable(r.tcp_ladder[i], 400) : std::string();
    const std::string rt = i < r.udp_ladder.size() ? text::printable(r.udp_ladder[i], 400) : std::string();
    const bool lost = rt.find("✗") != std::string::npos;
    std::string right_col = fit(rt, col);
    while (!right_col.empty() && right_col.back() == ' ') right_col.pop_back();
    std::string line = fit(left, col) + " |";
    if (!right_col.empty()) line += " " + paint(right_col, lost, kRed, color);
    o += line + "\n";
  }
  o += "\n" + paint(tr("What the numbers say:"), true, kBold, color) + "\n";
  for (const std::string& s : verdict(opts, r)) wrap(o, s, w, "  ");
  if (!r.note.empty()) wrap(o, std::string(tr("Note:")) + " " + text::printable(r.note, 400), w, "");
  if (!r.tcp_pcap.empty() || !r.udp_pcap.empty()) {
    o += std::string(tr("Saved (open in Wireshark, or sockscope annotate):")) + "\n";
    for (const std::string* f : {&r.tcp_pcap, &r.udp_pcap})
      if (!f->empty()) o += "  " + text::printable(*f) + "\n";
  }
  return o;
}

std::string render_json(const Result& r) {
  text::Json j{{"tcp", json_figures(r.tcp)},
               {"udp", json_figures(r.udp)},
               {"lab", r.options.lab},
               {"loss_pct", r.options.loss_pct},
               {"messages", r.options.messages},
               {"size", r.options.size}};
  if (!r.tcp_pcap.empty() || !r.udp_pcap.empty()) j["files"] = {{"tcp", r.tcp_pcap}, {"udp", r.udp_pcap}};
  return text::json_dump(j);
}

std::string render_html(const Options& opts, const Result& r) {
  std::vector<HtmlSection> sections;
  std::string table = "<table class=\"compare\">\n<tr><th></th><th></th><th>TCP</th><th>UDP</th></tr>\n";
  for (const Row& row : table_rows(r)) {
    table += "<tr><th>" + xml_escape(row.group ? row.group : "") + "</th><td>" + xml_escape(row.label) +
             "</td><td style=\"text-align:right\">" + xml_escape(row.tcp) + "</td><td style=\"text-align:right\">" +
             xml_escape(row.udp) + "</td></tr>\n";
  }
  table += "</table>\n";
  sections.push_back({text::format(tr("%1$d messages of %2$d bytes, %3$s"), opts.messages, opts.size, where(opts).c_str()), table});
  std::string words;
  for (const std::string& s : verdict(opts, r)) words += "<p>" + xml_escape(s) + "</p>\n";
  if (!r.note.empty()) words += "<p>" + xml_escape(std::string(tr("Note:")) + " " + r.note) + "</p>\n";
  sections.push_back({tr("What the numbers say"), words});
  sections.push_back({tr("TCP, packet by packet"), r.tcp_svg});
  sections.push_back({tr("UDP, packet by packet"), r.udp_svg});
  return html_page(tr("sockscope compare: TCP and UDP side by side"), sections);
}

}  // namespace sockscope::compare
