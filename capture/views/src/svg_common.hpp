// Private to the SVG/HTML views (svg_view.cpp, svg_html.cpp).
#pragma once
#include <string>
#include <string_view>

namespace sockscope::views {

// Appends text that is already terminal-safe (escape_text's output: no controls, valid UTF-8) with the
// five XML special characters as entities. xml_escape() is escape_text followed by this; text that
// went through escape_text once must not go through it again (its backslashes would double).
void xml_entities(std::string& out, std::string_view safe);

}  // namespace sockscope::views
