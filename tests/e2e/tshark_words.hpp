// tcp.analysis.* from tshark and sockscope's event words, frame by frame, for the cross-checks
// (tests/e2e/tshark_analysis_test.cpp, tests/perf): each side's frames per word.
#pragma once
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace e2e {

// Wireshark field -> our event word (docs/glossary.md "same meaning as Wireshark's tcp.analysis.*").
inline const std::map<std::string, std::string>& field_to_word() {
  static const std::map<std::string, std::string> m = {
      {"tcp.analysis.retransmission", "retransmission"},
      {"tcp.analysis.fast_retransmission", "fast-retransmission"},
      {"tcp.analysis.spurious_retransmission", "spurious-retransmission"},
      {"tcp.analysis.out_of_order", "out-of-order"},
      {"tcp.analysis.lost_segment", "lost-segment"},
      {"tcp.analysis.ack_lost_segment", "ack-unseen"},
      {"tcp.analysis.duplicate_ack", "dup-ack"},
      {"tcp.analysis.zero_window", "zero-window"},
      {"tcp.analysis.zero_window_probe", "zero-window-probe"},
      {"tcp.analysis.window_update", "window-update"},
      {"tcp.analysis.window_full", "window-full"},
      {"tcp.analysis.keep_alive", "keepalive"},
      {"tcp.analysis.keep_alive_ack", "keepalive-ack"},
  };
  return m;
}

using FramesByWord = std::map<std::string, std::set<std::int64_t>>;

inline FramesByWord tshark_words(const std::string& path, std::string& error) {
  std::vector<std::string> argv = {"tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=f",
                                   "-e", "frame.number"};
  std::vector<std::string> fields;
  for (const auto& [field, word] : field_to_word()) {
    argv.push_back("-e");
    argv.push_back(field);
    fields.push_back(field);
  }
  const RunResult t = run(argv);
  FramesByWord out;
  if (t.status != 0) {
    error = t.err;
    return out;
  }
  std::istringstream in(t.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream cols(line);
    std::string num;
    std::getline(cols, num, '\t');
    for (const auto& field : fields) {
      std::string v;
      std::getline(cols, v, '\t');
      if (!v.empty()) out[field_to_word().at(field)].insert(std::stoll(num));
    }
  }
  return out;
}

// Our words per frame; `tunnel` (if not empty) is the kind every packet must say it came through.
inline FramesByWord our_words(const std::string& path, std::string& error, const std::string& tunnel = "") {
  FramesByWord out;
  const RunResult r = sockscope({"annotate", "--json", path});
  if (r.status != 0) {
    error = r.err;
    return out;
  }
  for (const Json& j : json_lines(r.out, error)) {
    if (j["type"].str() != "packet") continue;
    // A segment whose header the snapshot length cut: both analyse it (the next segments show it),
    // but tshark lists no flags for it, since its dissector stops at the cut; sockscope shows them.
    if (j["error"]["kind"].str() == "truncated") continue;
    if (!tunnel.empty()) {
      if (j["tunnels"].size() == 0 || j["tunnels"][std::size_t{0}]["kind"].str() != tunnel) {
        error = "frame " + std::to_string(j["frame"].i64()) + " does not say it came through " + tunnel;
        return out;
      }
      if (j["conn"].i64() != 1) {
        error = "frame " + std::to_string(j["frame"].i64()) + " is not in the one inner conversation";
        return out;
      }
    }
    for (const auto& [field, word] : field_to_word())
      if (has_event(j, word)) out[word].insert(j["frame"].i64());
  }
  return out;
}

inline std::string show(const std::set<std::int64_t>& s) {
  std::string o = "{";
  for (auto f : s) o += (o.size() > 1 ? "," : "") + std::to_string(f);
  return o + "}";
}

}  // namespace e2e
