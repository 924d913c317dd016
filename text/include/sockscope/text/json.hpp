// JSON for everything that is not a per-packet view: one writer and one reader, both nlohmann-json
// (the per-packet views write their JSON by hand for speed, through json_string in escape.hpp).
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sockscope::text {

// An object keeps its keys in the order they were set, so a JSON line reads like its text view.
using Json = nlohmann::ordered_json;

// j as one line of JSON text, without a newline. The same policy as json_string: always valid
// UTF-8 (an invalid byte becomes U+FFFD), and nothing that acts on a terminal is written raw: C0
// controls, DEL, C1 controls and bidirectional controls become \uXXXX.
std::string json_dump(const Json& j);

// The JSON value in s, or nothing when s is not JSON (error, when given, says where and why).
std::optional<Json> json_parse(std::string_view s, std::string* error = nullptr);

}  // namespace sockscope::text
