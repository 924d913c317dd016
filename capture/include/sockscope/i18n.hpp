// Learner-facing sentences are translatable, GNU gettext style, one catalogue ("sockscope", po/).
// Wrap every sentence a learner reads in tr("..."); xgettext --keyword=tr extracts them.
// Format strings keep their placeholders in the translated text ("{frame}" style is not used:
// printf-style %s/%u, so translators can reorder with %1$s).
#pragma once
#include <libintl.h>

namespace sockscope {

inline constexpr const char* kTextDomain = "sockscope";

inline const char* tr(const char* msgid) { return dgettext(kTextDomain, msgid); }

// Marks a string for extraction without translating it at this point (for tables).
#define SOCKSCOPE_N_(s) s

}  // namespace sockscope
