// Where an installed sockscope finds its data, worked out from the binary's own location so the same
// build runs from the build tree, from /usr/local (cmake --install) and from /usr (the .deb), and a
// prefix can be moved as a whole. The layout under a prefix P is GNU's:
//   P/bin/sockscope                              the program
//   P/share/sockscope/lessons/*.lesson           the lessons (data_dir() + "/lessons")
//   P/share/locale/LANG/LC_MESSAGES/sockscope.mo the compiled translations (locale_dir())
// In the build tree the binary is build/sockscope; its lessons come from the source tree (see
// lessons/src/find.cpp) and its translations from build/locale/LANG/LC_MESSAGES/sockscope.mo.
#pragma once
#include <string>

namespace sockscope {

// This program's own file (/proc/self/exe, symbolic links resolved); empty when it cannot be read.
std::string self_exe();

// The prefix a binary is installed under: the folder above the folder that holds it (/usr for
// /usr/bin/sockscope). Empty for an empty path. Nothing is checked: callers look for what they need.
std::string install_prefix(const std::string& exe_path);

// P/share/sockscope for the binary's prefix P: the lessons and other data installed with it.
std::string data_dir(const std::string& exe_path);

// The folder to give bindtextdomain() for the "sockscope" catalogue: locale/ beside the binary when it
// exists (the build tree), else P/share/locale for the binary's prefix P, else (no path) the locale
// folder of the prefix the build was configured for.
std::string locale_dir(const std::string& exe_path);

}  // namespace sockscope
