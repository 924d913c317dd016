#include "sockscope/lessons/expect.hpp"

#include <map>

#include "sockscope/text/format.hpp"
#include "sockscope/text/i18n.hpp"

namespace sockscope {

bool parse_event_words(std::string_view text, std::vector<Event>& out, std::string& error) {
  out.clear();
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != ',' && text[j] != '\t') ++j;
    if (j > i) {
      std::string_view w = text.substr(i, j - i);
      auto e = event_from_name(w);
      if (!e) {
        error = text::format(tr("unknown event word '%s' (see docs/reading-output.md for the list)"), std::string(w).c_str());
        return false;
      }
      out.push_back(*e);
    }
    i = j;
  }
  if (out.empty()) {
    error = tr("no event words given");
    return false;
  }
  return true;
}

namespace {

bool connectionless(Event e) {
  return e == Event::IpFragment || e == Event::Reassembled || e == Event::IcmpUnreachable ||
         e == Event::Malformed || e == Event::ChecksumBad;
}

std::string join(const std::vector<Event>& words, std::size_t from, std::size_t to) {
  std::string s;
  for (std::size_t i = from; i < to && i < words.size(); ++i) {
    if (!s.empty()) s += ' ';
    s += event_name(words[i]);
  }
  return s;
}

// Tries one conversation (conn == 0: all packets); returns how many words matched, in order.
std::size_t match(const std::vector<SeenPacket>& seen, const std::vector<Event>& words, std::uint32_t conn,
                  bool any_conn, std::vector<std::uint64_t>& frames) {
  frames.clear();
  std::size_t k = 0;
  for (const auto& p : seen) {
    if (k == words.size()) break;
    if (!any_conn && p.conn != conn && !connectionless(words[k])) continue;
    // One packet may satisfy several consecutive words (teardown-2 and teardown-3 in one segment).
    while (k < words.size() && p.events.has(words[k])) {
      frames.push_back(p.frame);
      ++k;
    }
  }
  return k;
}

}  // namespace

ExpectResult expect_in_order(const std::vector<SeenPacket>& seen, const std::vector<Event>& words) {
  ExpectResult r;
  if (words.empty()) {
    r.ok = true;
    return r;
  }
  bool all_connless = true;
  for (auto w : words) all_connless = all_connless && connectionless(w);
  std::vector<std::uint32_t> conns;
  if (!all_connless) {
    std::map<std::uint32_t, bool> seen_conn;
    for (const auto& p : seen)
      if (p.conn != 0 && !seen_conn[p.conn]) seen_conn[p.conn] = true, conns.push_back(p.conn);
  }
  std::size_t best = 0;
  std::uint32_t best_conn = 0;
  std::vector<std::uint64_t> frames, best_frames;
  if (all_connless) {
    best = match(seen, words, 0, true, best_frames);
  } else {
    for (auto c : conns) {
      std::size_t n = match(seen, words, c, false, frames);
      if (n > best) best = n, best_conn = c, best_frames = frames;
      if (n == words.size()) break;
    }
  }
  if (best == words.size()) {
    r.ok = true;
    r.frames = best_frames;
    r.message = best_conn ? text::format(tr("seen: %1$s (conversation %2$u)"), join(words, 0, words.size()).c_str(),
                                      static_cast<unsigned>(best_conn))
                          : text::format(tr("seen: %s"), join(words, 0, words.size()).c_str());
    return r;
  }
  r.ok = false;
  r.frames = best_frames;
  if (best == 0) {
    r.message = text::format(tr("expected %1$s; the capture never showed %2$s"), join(words, 0, words.size()).c_str(),
                          std::string(event_name(words[0])).c_str());
  } else {
    r.message = text::format(tr("expected %1$s; the capture showed %2$s (up to frame %3$llu) but never %4$s after it"),
                          join(words, 0, words.size()).c_str(), join(words, 0, best).c_str(),
                          static_cast<unsigned long long>(best_frames.back()), std::string(event_name(words[best])).c_str());
  }
  return r;
}

std::size_t count_event(const std::vector<SeenPacket>& seen, Event word) {
  std::size_t n = 0;
  for (const auto& p : seen) n += p.events.has(word) ? 1 : 0;
  return n;
}

}  // namespace sockscope
