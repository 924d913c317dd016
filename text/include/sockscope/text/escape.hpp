// Escaping of bytes that came from the wire or from a file, before they reach a terminal or JSON.
// Nothing here ever emits ESC (0x1b), another C0 control, DEL or a C1 control (U+0080..U+009F) raw:
// a capture can carry "\x1b[2J" or an OSC sequence that would otherwise act on the learner's terminal.
#pragma once
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sockscope::text {

// Decodes one UTF-8 sequence at p[0..n). Returns its length (1..4) and the code point in cp, or 0 when
// the bytes are not valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
// Returns -1 when p[0..n) is a valid but incomplete prefix of a sequence (n too short).
int utf8_decode(const std::uint8_t* p, std::size_t n, std::uint32_t& cp);

// Code points that are valid text but change how a terminal draws or orders what follows: C1
// controls, bidirectional controls, line and paragraph separators, BOM. Neither escaper writes them raw.
bool acts_on_terminal(std::uint32_t cp);

// Appends a terminal-safe form of data[0..n): printable ASCII as is, \n \r \t \\ as escapes, other
// controls and invalid UTF-8 bytes as \xNN, valid UTF-8 kept (learners send 中文), except C1 controls and
// bidirectional overrides, written as \u{XXXX}. At most max_in input bytes are used; when the input is
// longer (or more_follows), "…" is appended. A quote character is escaped when quote is set.
void escape_text(std::string& out, const std::uint8_t* data, std::size_t n,
                 std::size_t max_in = static_cast<std::size_t>(-1), bool more_follows = false,
                 bool quote = true);
inline void escape_text(std::string& out, std::string_view s) {
  escape_text(out, reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Appends s as a JSON string literal, with the quotes (RFC 8259 section 7): controls as \u00XX,
// invalid UTF-8 replaced by \ufffd, so the output is always valid UTF-8 and valid JSON.
void json_string(std::string& out, const std::uint8_t* data, std::size_t n);
inline void json_string(std::string& out, std::string_view s) {
  json_string(out, reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// A user-supplied name (file path, interface, filter, option, lesson text) made safe to echo in a
// message: escape_text without quoting, cut to max_bytes with "…".
inline std::string printable(std::string_view s, std::size_t max_bytes = 200) {
  std::string out;
  escape_text(out, reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), max_bytes, false, false);
  return out;
}

// Terminal columns taken by already escaped text (UTF-8): East Asian wide characters count 2.
std::size_t display_width(std::string_view s);
// Whether s starts / ends with a wide character (Chinese text and its punctuation): where two pieces
// of text join, no space goes between wide characters.
bool wide_at_start(std::string_view s);
// s followed (pad_right) or preceded (pad_left) by spaces up to w terminal columns: printf's "%-12s"
// and "%12s" count bytes, so a Chinese word (3 bytes, 2 columns a character) would end short.
// Text already w columns wide or wider is returned as it is.
inline std::string pad_right(std::string_view s, std::size_t w) {
  const std::size_t d = display_width(s);
  return std::string(s) + std::string(d < w ? w - d : 0, ' ');
}
// The width of a column that holds each of texts (their widest, in terminal columns), at least at_least.
inline std::size_t column_width(std::initializer_list<std::string_view> texts, std::size_t at_least = 0) {
  std::size_t w = at_least;
  for (std::string_view t : texts) w = std::max(w, display_width(t));
  return w;
}
inline std::string pad_left(std::string_view s, std::size_t w) {
  const std::size_t d = display_width(s);
  return std::string(d < w ? w - d : 0, ' ') + std::string(s);
}
bool wide_at_end(std::string_view s);

// Text wrapped to `width` terminal columns (display_width), each line behind `first` (the first
// line) or `next` and ending in "\n". Lines break at spaces and between CJK characters, never inside a
// character, never before closing punctuation such as ，。：；、！？） and never after an opening
// one such as （「 (kinsoku). A word wider than the line stands alone on its line.
std::string wrap_text(std::string_view text, std::size_t width, std::string_view first, std::string_view next);

}  // namespace sockscope::text
