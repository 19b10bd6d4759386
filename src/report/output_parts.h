// Helpers shared by the output writers of src/report (outputs.cc, html_output.cc).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/json.h"

namespace spiker::report::detail {

using json = nlohmann::json;

// The number at `path` in `doc`, or `fallback`.
double num(const json& doc, std::initializer_list<const char*> path, double fallback = 0);
// The string at `path` in `doc`, or "".
std::string str(const json& doc, std::initializer_list<const char*> path);
std::string xml_escape(std::string_view s);
std::string csv_field(std::string_view s);
std::string md_cell(std::string_view s);
// The self-contained HTML report (html_output.cc).
std::string to_html(const json& d);

}  // namespace spiker::report::detail
