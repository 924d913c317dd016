// Pictures: the ladder diagram as SVG, for slides and handouts. Client and server are two vertical
// lines; each packet is one labelled arrow going down the page in time order (its frame number and
// plain-words label: "SYN (handshake 1/3)", "data 1-5", "ACK 6", "FIN (teardown 1/4)"); the handshake,
// data/ACK and teardown phases of each TCP conversation are shaded; a packet the capture proves lost
// is drawn as an arrow that stops half way with a cross. Socket calls (live runs) are written beside
// their endpoint's line. Every byte that came from the wire or a file is escaped for XML.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/views/views.hpp"

namespace sockscope {

struct SvgOptions {
  std::string title;          // drawn at the top (escaped); empty: none
  int width = 760;            // pixels
  std::size_t max_packets = 2000;  // longer captures are cut, with a note saying so
};

// A View that remembers what it is shown and draws it. Use it alone (annotate --svg) or next to a
// terminal view through TeeView.
class SvgLadder final : public View {
 public:
  explicit SvgLadder(SvgOptions opts = {});
  ~SvgLadder() override;
  void packet(const Packet& p, const Annotation& a) override;
  void conversation(const ConnSummary& s) override;
  void call(const CallRecord& c, std::uint32_t conn) override;
  void finish() override;

  // Marks a frame as lost, with a reason in plain words (e.g. "never received: message 7 missing"):
  // for proof the capture alone does not hold (the receiving program's calls). A TCP segment that a
  // later non-spurious retransmission re-sends is marked lost by the view itself.
  void mark_lost(std::uint64_t frame, std::string reason);

  // The drawing: a standalone SVG document, or (standalone = false) one <svg> element to embed in HTML.
  std::string svg(bool standalone = true) const;
  // Writes svg() to path (under a temporary name, renamed when complete). false with a one-line error
  // naming the path.
  bool write(const std::string& path, std::string& error) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hands every item to each of several views, in order (e.g. the terminal timeline and an SvgLadder).
class TeeView final : public View {
 public:
  explicit TeeView(std::vector<View*> views) : views_(std::move(views)) {}
  void packet(const Packet& p, const Annotation& a) override {
    for (View* v : views_) v->packet(p, a);
  }
  void conversation(const ConnSummary& s) override {
    for (View* v : views_) v->conversation(s);
  }
  void call(const CallRecord& c, std::uint32_t conn) override {
    for (View* v : views_) v->call(c, conn);
  }
  void finish() override {
    for (View* v : views_) v->finish();
  }

 private:
  std::vector<View*> views_;
};

// XML/HTML text and attribute escaping of bytes from the wire: & < > " ' escaped, control characters
// and invalid UTF-8 shown as \xNN (text::printable), so nothing can open markup or a script.
std::string xml_escape(std::string_view raw);

// One self-contained HTML page (no external files, no scripts): a title, then each section in order.
// Section bodies are trusted HTML that the caller built (escape what came from the wire with
// xml_escape); titles are escaped here.
struct HtmlSection {
  std::string title;
  std::string body_html;
};
std::string html_page(std::string_view title, const std::vector<HtmlSection>& sections);

}  // namespace sockscope
