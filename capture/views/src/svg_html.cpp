// Escaping for XML/HTML and the one-page HTML document (svg.hpp). The page is meant for handouts and
// slides: it opens offline, prints on A4, and runs nothing (no scripts, no external files, and a
// Content-Security-Policy that forbids them even if escaping were ever to fail).
#include <string>
#include <string_view>
#include <vector>

#include "sockscope/text/escape.hpp"
#include "sockscope/views/svg.hpp"
#include "svg_common.hpp"

namespace sockscope {

namespace views {

void xml_entities(std::string& out, std::string_view safe) {
  for (std::size_t i = 0; i < safe.size(); ++i) {
    const char c = safe[i];
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: {
        const auto b = static_cast<unsigned char>(c);
        // XML 1.0 section 2.2 (Char) excludes the C0 controls other than tab, LF and CR, and the
        // noncharacters U+FFFE and U+FFFF (UTF-8 EF BF BE / EF BF BF), which escape_text keeps as
        // valid UTF-8: one of them would make the whole document unreadable to an XML parser.
        if (b < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[b >> 4];
          out += kHex[b & 0xf];
        } else if (b == 0xef && i + 2 < safe.size() && static_cast<unsigned char>(safe[i + 1]) == 0xbf &&
                   (static_cast<unsigned char>(safe[i + 2]) == 0xbe || static_cast<unsigned char>(safe[i + 2]) == 0xbf)) {
          out += static_cast<unsigned char>(safe[i + 2]) == 0xbe ? "\\u{fffe}" : "\\u{ffff}";
          i += 2;
        } else {
          out += c;
        }
      }
    }
  }
}

}  // namespace views

std::string xml_escape(std::string_view raw) {
  // First what a terminal must not see (controls, ESC, C1, bidi overrides, invalid UTF-8 as \xNN),
  // then what would open markup. Quotes are left to the second step, which writes them as entities.
  std::string safe;
  text::escape_text(safe, reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size(),
                     static_cast<std::size_t>(-1), false, false);
  std::string out;
  out.reserve(safe.size() + safe.size() / 8);
  views::xml_entities(out, safe);
  return out;
}

std::string html_page(std::string_view title, const std::vector<HtmlSection>& sections) {
  std::string out;
  out.reserve(4096);
  const std::string t = xml_escape(title);
  out +=
      "<!DOCTYPE html>\n"
      "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      // Nothing on this page may load or run anything: inline styles and inline pictures only.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"sockscope\">\n<title>";
  out += t;
  out +=
      "</title>\n<style>\n"
      "body{font-family:\"DejaVu Sans\",Verdana,Arial,\"Noto Sans CJK SC\",\"WenQuanYi Micro Hei\",\"Microsoft YaHei\",\"PingFang SC\",sans-serif;color:#222;background:#fff;"
      "max-width:60em;margin:1.5em auto;padding:0 1em;line-height:1.4}\n"
      "h1{font-size:1.5em;margin:0 0 .8em}\n"
      "h2{font-size:1.15em;margin:1.4em 0 .5em;border-bottom:1px solid #ccc;padding-bottom:.2em}\n"
      "table{border-collapse:collapse;margin:.5em 0;font-size:.92em}\n"
      "th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}\n"
      "th{background:#f0f0f0}\n"
      "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
      "pre,code{font-family:\"DejaVu Sans Mono\",Menlo,Consolas,\"Noto Sans Mono CJK SC\",\"WenQuanYi Micro Hei Mono\",monospace;font-size:.9em}\n"
      "pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere}\n"
      "svg{max-width:100%;height:auto}\n"
      ".pictures{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}\n"
      ".pictures>div{flex:1 1 22em;min-width:0}\n"
      "@media print{body{max-width:none;margin:0}section{break-inside:avoid-page}"
      "h2{break-after:avoid}a{color:inherit;text-decoration:none}}\n"
      "@page{margin:15mm}\n"
      "</style>\n</head>\n<body>\n<h1>";
  out += t;
  out += "</h1>\n";
  for (const HtmlSection& s : sections) {
    out += "<section>\n<h2>";
    out += xml_escape(s.title);
    out += "</h2>\n";
    out += s.body_html;
    if (!s.body_html.empty() && s.body_html.back() != '\n') out += '\n';
    out += "</section>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace sockscope
