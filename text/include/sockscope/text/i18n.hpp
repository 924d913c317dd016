// Learner-facing sentences are translatable, GNU gettext style, one catalogue ("sockscope", po/).
// Wrap every sentence a learner reads in tr("..."); xgettext --keyword=tr extracts them.
// Format strings keep their placeholders in the translated text ("{frame}" style is not used:
// printf-style %s/%u, so translators can reorder with %1$s).
#pragma once
#include <libintl.h>

#include <unordered_map>

namespace sockscope {

inline constexpr const char* kTextDomain = "sockscope";

// Translations are looked up once per message and remembered: gettext takes locks and reads the
// environment on every call, which would cost a quarter of the time of a packet line. Messages are
// string literals, so their address identifies them. (Call setlocale before the first tr().)
inline const char* tr(const char* msgid) {
  thread_local std::unordered_map<const char*, const char*> cache;
  auto it = cache.find(msgid);
  if (it != cache.end()) return it->second;
  const char* text = dgettext(kTextDomain, msgid);
  cache.emplace(msgid, text);
  return text;
}

// Marks a string for extraction without translating it at this point (for tables).
#define SOCKSCOPE_N_(s) s

}  // namespace sockscope
