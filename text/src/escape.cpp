#include "sockscope/text/escape.hpp"

#include <vector>

namespace sockscope::text {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void put_hex_byte(std::string& out, std::uint8_t b) {
  out += '\\';
  out += 'x';
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

void put_u_brace(std::string& out, std::uint32_t cp) {
  out += "\\u{";
  bool started = false;
  for (int shift = 20; shift >= 0; shift -= 4) {
    const unsigned d = (cp >> shift) & 0xf;
    if (d != 0 || started || shift < 16) {
      out += kHex[d];
      started = true;
    }
  }
  out += '}';
}

void put_json_u(std::string& out, std::uint32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xf];
}

}  // namespace

// Code points that are valid text but change how a terminal draws or orders what follows:
// C1 controls (U+0080..U+009F: U+009B is CSI on some terminals) and the Unicode bidirectional
// controls (the "Trojan Source" characters), plus the line/paragraph separators and BOM.
bool acts_on_terminal(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0xfeff;
}

int utf8_decode(const std::uint8_t* p, std::size_t n, std::uint32_t& cp) {
  if (n == 0) return 0;
  const std::uint8_t b0 = p[0];
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  int len = 0;
  std::uint32_t min = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    cp = b0 & 0x1fu;
    min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    cp = b0 & 0x0fu;
    min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    cp = b0 & 0x07u;
    min = 0x10000;
  } else {
    return 0;  // continuation byte, 0xc0/0xc1 (always overlong) or 0xf5..0xff
  }
  for (int i = 1; i < len; ++i) {
    if (static_cast<std::size_t>(i) >= n) return -1;
    const std::uint8_t b = p[i];
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3fu);
    // Reject early what can no longer become valid, so a cut prefix is told from garbage.
    if (i == 1) {
      if (len == 3 && b0 == 0xe0 && b < 0xa0) return 0;   // overlong
      if (len == 3 && b0 == 0xed && b >= 0xa0) return 0;  // UTF-16 surrogate
      if (len == 4 && b0 == 0xf0 && b < 0x90) return 0;   // overlong
      if (len == 4 && b0 == 0xf4 && b >= 0x90) return 0;  // above U+10FFFF
    }
  }
  if (cp < min) return 0;
  return len;
}

void escape_text(std::string& out, const std::uint8_t* data, std::size_t n, std::size_t max_in,
                 bool more_follows, bool quote) {
  const std::size_t limit = n < max_in ? n : max_in;
  bool cut = more_follows || n > max_in;
  std::size_t i = 0;
  while (i < limit) {
    const std::uint8_t b = data[i];
    if (b >= 0x20 && b < 0x7f) {
      if (b == '\\' || (quote && b == '"')) out += '\\';
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    switch (b) {
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (b < 0x80) {  // other C0 controls, ESC and DEL
      put_hex_byte(out, b);
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const int len = utf8_decode(data + i, n - i, cp);
    if (len > 0 && i + static_cast<std::size_t>(len) > limit) {
      // A valid character straddles the preview limit: stop before it rather than split it.
      cut = true;
      break;
    }
    if (len <= 0) {  // invalid, or cut short by the end of the captured bytes
      put_hex_byte(out, b);
      ++i;
      continue;
    }
    if (acts_on_terminal(cp)) {
      put_u_brace(out, cp);
    } else {
      out.append(reinterpret_cast<const char*>(data + i), static_cast<std::size_t>(len));
    }
    i += static_cast<std::size_t>(len);
  }
  if (cut) out += "\xe2\x80\xa6";  // U+2026 HORIZONTAL ELLIPSIS
}

void json_string(std::string& out, const std::uint8_t* data, std::size_t n) {
  out += '"';
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t b = data[i];
    if (b >= 0x20 && b < 0x7f) {
      if (b == '"' || b == '\\') {
        out += '\\';
        out += static_cast<char>(b);
        ++i;
        continue;
      }
      // A run of printable ASCII that needs no escape goes out in one append (a byte at a time
      // was a quarter of the time of annotate --json).
      std::size_t j = i + 1;
      while (j < n && data[j] >= 0x20 && data[j] < 0x7f && data[j] != '"' && data[j] != '\\') ++j;
      out.append(reinterpret_cast<const char*>(data + i), j - i);
      i = j;
      continue;
    }
    if (b < 0x80) {  // C0 controls and DEL: never raw, even where JSON would allow DEL
      put_json_u(out, b);
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const int len = utf8_decode(data + i, n - i, cp);
    if (len <= 0) {
      put_json_u(out, 0xfffd);  // RFC 8259 section 8.1: JSON text is UTF-8; replace what is not
      ++i;
      continue;
    }
    if (acts_on_terminal(cp)) {
      put_json_u(out, cp);
    } else {
      out.append(reinterpret_cast<const char*>(data + i), static_cast<std::size_t>(len));
    }
    i += static_cast<std::size_t>(len);
  }
  out += '"';
}

namespace {

// East Asian wide characters (UAX #11 W and F): two terminal columns.
bool wide_code_point(std::uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
         (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
         (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) ||
         (cp >= 0x20000 && cp <= 0x3fffd);
}

}  // namespace

std::size_t display_width(std::string_view s) {
  std::size_t w = 0;
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  while (i < s.size()) {
    std::uint32_t cp = 0;
    int len = utf8_decode(p + i, s.size() - i, cp);
    if (len <= 0) {
      len = 1;
      cp = 0;
    }
    i += static_cast<std::size_t>(len);
    if (cp >= 0x300 && cp <= 0x36f) continue;  // combining marks take no column
    w += wide_code_point(cp) ? 2 : 1;
  }
  return w;
}

bool wide_at_start(std::string_view s) {
  std::uint32_t cp = 0;
  return utf8_decode(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), cp) > 0 && wide_code_point(cp);
}

bool wide_at_end(std::string_view s) {
  std::size_t start = s.size();
  while (start > 0 && s.size() - start < 4) {
    --start;
    if ((static_cast<std::uint8_t>(s[start]) & 0xc0) != 0x80) break;  // not a continuation byte
  }
  std::uint32_t cp = 0;
  const int len = utf8_decode(reinterpret_cast<const std::uint8_t*>(s.data()) + start, s.size() - start, cp);
  return len > 0 && start + static_cast<std::size_t>(len) == s.size() && wide_code_point(cp);
}

namespace {

// Never at the start of a line (closing punctuation), never at the end of one (opening punctuation).
bool no_line_start(std::uint32_t cp) {
  switch (cp) {
    case 0xff0c: case 0x3002: case 0xff1a: case 0xff1b: case 0x3001: case 0xff01: case 0xff1f: case 0xff09:
    case 0x300d: case 0x300f: case 0x3011: case 0x300b: case 0x3009: case 0x201d: case 0x2019: case 0x2026:
    case 0xff0e: case 0x30fc: case ',': case '.': case ':': case ';': case '!': case '?': case ')':
      return true;
    default: return false;
  }
}
bool no_line_end(std::uint32_t cp) {
  return cp == 0xff08 || cp == 0x300c || cp == 0x300e || cp == 0x3010 || cp == 0x300a || cp == 0x3008 ||
         cp == 0x201c || cp == 0x2018;
}

}  // namespace

std::string wrap_text(std::string_view text, std::size_t width, std::string_view first, std::string_view next) {
  // Units that stay together: a run of narrow characters (a word), or one wide character, with the
  // closing punctuation after it and the opening punctuation before it.
  struct Unit {
    std::string text;
    bool space_before = false;
    bool open_end = false;  // ends in opening punctuation: the next unit joins it
  };
  std::vector<Unit> units;
  bool in_word = false, pending_space = false;
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    int len = utf8_decode(p + i, text.size() - i, cp);
    if (len <= 0) len = 1, cp = 0xfffd;
    const std::string_view ch = text.substr(i, static_cast<std::size_t>(len));
    i += static_cast<std::size_t>(len);
    if (cp == ' ' || cp == '\t' || cp == '\n') {
      pending_space = !units.empty();
      in_word = false;
      continue;
    }
    const bool wide = wide_code_point(cp);
    if (!units.empty() && !pending_space && (no_line_start(cp) || units.back().open_end || (in_word && !wide))) {
      units.back().text.append(ch);  // joins the unit before it
    } else {
      units.push_back(Unit{std::string(ch), pending_space, false});
    }
    units.back().open_end = no_line_end(cp);
    in_word = !wide;
    pending_space = false;
  }
  std::string out, line;
  std::string_view prefix = first;
  std::size_t used = 0;
  for (const Unit& u : units) {
    const std::size_t w = display_width(u.text);
    const std::size_t gap = line.empty() || !u.space_before ? 0 : 1;
    if (!line.empty() && display_width(prefix) + used + gap + w > width) {
      out.append(prefix).append(line).append("\n");
      prefix = next;
      line.clear();
      used = 0;
    } else if (gap) {
      line += ' ';
      used += 1;
    }
    line += u.text;
    used += w;
  }
  if (!line.empty()) out.append(prefix).append(line).append("\n");
  return out;
}

}  // namespace sockscope::text
