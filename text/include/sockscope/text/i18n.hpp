// Learner-facing sentences are translatable, GNU gettext style, one catalogue ("sockscope", po/).
// Wrap every sentence a learner reads in tr("..."); xgettext --keyword=tr extracts them, and
// --keyword=trn:1,2 the sentences whose words depend on a number (plural forms).
// Format strings are printf style; a sentence with several placeholders numbers them (%1$s, %2$u),
// so a translator can put them in the order the language needs.
#pragma once
#include <libintl.h>

#include <atomic>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sockscope {

inline constexpr const char* kTextDomain = "sockscope";

// Bumped whenever the language of messages changes (init_messages), so the caches below forget
// what they remembered in the previous language.
inline std::atomic<unsigned> g_message_generation{0};

// Translations are looked up once per message and remembered: gettext takes locks and reads the
// environment on every call, which would cost a quarter of the time of a packet line. Messages are
// string literals, so their address identifies them.
inline const char* tr(const char* msgid) {
  struct Cache {
    unsigned generation = ~0u;
    std::unordered_map<const char*, const char*> map;
  };
  thread_local Cache cache;
  const unsigned gen = g_message_generation.load(std::memory_order_acquire);
  if (cache.generation != gen) {
    cache.map.clear();
    cache.generation = gen;
  }
  auto it = cache.map.find(msgid);
  if (it != cache.map.end()) return it->second;
  const char* text = dgettext(kTextDomain, msgid);
  cache.map.emplace(msgid, text);
  return text;
}

// The form of a sentence that fits the number n (ngettext): trn("%u byte", "%u bytes", n). The
// catalogue's plural rule chooses; English uses the singular for 1. Remembered like tr() for small n.
inline const char* trn(const char* singular, const char* plural, unsigned long n) {
  if (n >= 1024) return dngettext(kTextDomain, singular, plural, n);
  struct Cache {
    unsigned generation = ~0u;
    std::unordered_map<const char*, std::vector<const char*>> map;
  };
  thread_local Cache cache;
  const unsigned gen = g_message_generation.load(std::memory_order_acquire);
  if (cache.generation != gen) {
    cache.map.clear();
    cache.generation = gen;
  }
  std::vector<const char*>& forms = cache.map[singular];
  if (forms.size() <= n) forms.resize(n + 1, nullptr);
  if (!forms[n]) forms[n] = dngettext(kTextDomain, singular, plural, n);
  return forms[n];
}

// Chooses the language of messages, once at start-up, before the first tr() (calling it again later
// is allowed and makes tr() forget its cache). localedir holds <lang>/LC_MESSAGES/sockscope.mo.
// lang: "" takes it from the environment as gettext programs do (LANGUAGE, LC_ALL, LC_MESSAGES,
// LANG); "en" (or "C") is English, the text in the sources; anything else ("zh_CN") is that
// language, also where its locale is not generated on the machine (see i18n.cpp).
void init_messages(const std::string& localedir, const std::string& lang);

// The languages messages are looked up in, in order, without codeset ("zh_CN"); empty for English.
// Other translated text (lesson files) follows the same list.
const std::vector<std::string>& message_languages();

// Marks a string for extraction without translating it at this point (for tables).
#define SOCKSCOPE_N_(s) s

}  // namespace sockscope
