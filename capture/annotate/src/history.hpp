// Zeek conn.log's history letters, added per direction as the analysis sees them: upper case for the
// client, lower case for the server. The summary (close kind, conn_state) is history.cpp's summarise().
#pragma once
#include "conv_table.hpp"

namespace sockscope::annotate_detail {

inline void add_letter(Conv& c, int side, char lower) {
  if (c.history_len + 1u >= c.sum.history.size()) return;
  char ch = side == kClient ? static_cast<char>(lower - 'a' + 'A') : lower;
  c.sum.history[c.history_len++] = ch;
  c.sum.history[c.history_len] = '\0';
}
// a, d, i, q: at most once per direction.
inline void letter_once(Conv& c, int side, char l) {
  std::uint32_t bit = 1u << (l - 'a');
  if (c.dir[side].once_mask & bit) return;
  c.dir[side].once_mask |= bit;
  add_letter(c, side, l);
}
// f, h, r, s: again only with a new sequence number.
inline void letter_seq(Conv& c, TcpEndpoint& s, int side, char l, std::uint32_t seq) {
  int i = l == 'f' ? 0 : l == 'h' ? 1 : l == 'r' ? 2 : 3;
  if ((s.seq_letter_mask & (1u << i)) && s.letter_seq[i] == seq) return;
  s.seq_letter_mask |= 1u << i;
  s.letter_seq[i] = seq;
  add_letter(c, side, l);
}
// c, g, t, w: first time, then at 10, 100, 1000 ... (log scale).
inline void letter_count(Conv& c, int side, char l) {
  int i = l == 'c' ? 0 : l == 'g' ? 1 : l == 't' ? 2 : 3;
  std::uint32_t n = ++c.dir[side].letter_count[i];
  if (n == 1 || n == 10 || n == 100 || n == 1000 || n == 10000) add_letter(c, side, l);
}

}  // namespace sockscope::annotate_detail
