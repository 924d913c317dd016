#include "sockscope/text/i18n.hpp"

#include <clocale>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sockscope {
namespace {

std::vector<std::string>& languages() {
  static std::vector<std::string> list;
  return list;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// "zh_CN.UTF-8@latin" -> "zh_CN": the catalogues and lesson files are named by language and territory.
std::string bare(std::string s) {
  const std::size_t cut = s.find_first_of(".@");
  if (cut != std::string::npos) s.resize(cut);
  return s;
}

bool english(const std::string& l) { return l.empty() || l == "C" || l == "POSIX" || l == "en" || l.rfind("en_", 0) == 0; }

// A list "zh_CN:en" up to the first English entry: English is the text in the sources.
std::vector<std::string> split_until_english(const std::string& list) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= list.size()) {
    std::size_t j = list.find(':', i);
    if (j == std::string::npos) j = list.size();
    const std::string l = bare(list.substr(i, j - i));
    if (!l.empty()) {
      if (english(l)) break;
      out.push_back(l);
    }
    i = j + 1;
  }
  return out;
}

bool c_locale(const char* name) { return !name || !std::strcmp(name, "C") || !std::strcmp(name, "POSIX"); }

}  // namespace

void init_messages(const std::string& localedir, const std::string& lang) {
  // The learner's locale for everything (character classes, numbers); a locale named in the
  // environment that is not generated on this machine leaves "C", whose character set is ASCII.
  if (!std::setlocale(LC_ALL, "")) std::setlocale(LC_ALL, "C.UTF-8");

  std::vector<std::string> list;
  if (!lang.empty()) {
    list = split_until_english(lang);
  } else {
    // gettext's order: LC_ALL, then LC_MESSAGES, then LANG name the locale of messages; LANGUAGE, a
    // list of languages, takes precedence unless that locale is C (gettext ignores LANGUAGE then).
    const char* name = env("LC_ALL");
    if (!name) name = env("LC_MESSAGES");
    if (!name) name = env("LANG");
    if (name && !english(bare(name))) list = split_until_english(env("LANGUAGE") ? env("LANGUAGE") : name);
    else if (name && !c_locale(name) && env("LANGUAGE")) list = split_until_english(env("LANGUAGE"));
  }

  if (list.empty()) {
    // English: the sentences as written in the sources, whatever locale the environment names.
    std::setlocale(LC_MESSAGES, "C");
  } else {
    // glibc translates only when the locale of messages is not "C", and then follows LANGUAGE. So
    // a language whose locale is not generated here (no zh_CN in `locale -a`) is still spoken: the
    // messages locale becomes C.UTF-8 (always present in glibc 2.35 and later) and LANGUAGE names
    // the language. Child processes see the same LANGUAGE.
    if (c_locale(std::setlocale(LC_MESSAGES, nullptr))) {
      if (!std::setlocale(LC_MESSAGES, "C.UTF-8")) std::setlocale(LC_MESSAGES, "C.utf8");
    }
    std::string joined;
    for (const std::string& l : list) joined += (joined.empty() ? "" : ":") + l;
    setenv("LANGUAGE", joined.c_str(), 1);
  }
  languages() = list;
  bindtextdomain(kTextDomain, localedir.c_str());
  bind_textdomain_codeset(kTextDomain, "UTF-8");
  g_message_generation.fetch_add(1, std::memory_order_release);
}


const std::vector<std::string>& message_languages() { return languages(); }

}  // namespace sockscope
