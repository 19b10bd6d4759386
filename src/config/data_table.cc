#include "config/data_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config/env_interpolate.h"
#include "core/json.h"

namespace spiker::config {
namespace {

// RFC 4180: commas, double quotes ("" inside quotes), CRLF or LF line ends.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& where) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      quoted = any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      field.clear();
      row.clear();
      any = false;
      ++line;
    } else {
      field += c;
      any = true;
    }
  }
  if (quoted) throw ConfigError(fmt::format("{}: a quoted field is not closed", where));
  if (any || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

void load_data_table(plan::DataTable& t, const std::string& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read '{}'; check the path", where, path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  bool json = path.ends_with(".json");
  if (json) {
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw ConfigError(fmt::format("{}: '{}' is not valid JSON: {}", where, path, e.what()));
    }
    if (!doc.is_array() || doc.empty()) {
      throw ConfigError(
          fmt::format("{}: '{}' must hold a non-empty JSON array of objects", where, path));
    }
    for (const auto& row : doc) {
      if (!row.is_object()) {
        throw ConfigError(fmt::format("{}: '{}': every element must be an object", where, path));
      }
      for (const auto& [k, v] : row.items()) {
        if (std::find(t.columns.begin(), t.columns.end(), k) == t.columns.end()) {
          t.columns.push_back(k);
        }
      }
    }
    for (const auto& row : doc) {
      for (const std::string& col : t.columns) {
        auto it = row.find(col);
        if (it == row.end() || it->is_null()) {
          t.cells.emplace_back();
        } else {
          t.cells.push_back(it->is_string() ? it->get<std::string>() : it->dump());
        }
      }
    }
  } else {
    std::vector<std::vector<std::string>> rows =
        parse_csv(text, fmt::format("{} ({})", where, path));
    if (rows.size() < 2) {
      throw ConfigError(fmt::format(
          "{}: '{}' needs a header row of column names and at least one data row", where, path));
    }
    t.columns = rows[0];
    for (size_t r = 1; r < rows.size(); ++r) {
      if (rows[r].size() != t.columns.size()) {
        throw ConfigError(fmt::format("{}: '{}' row {} has {} fields; the header has {}", where,
                                      path, r + 1, rows[r].size(), t.columns.size()));
      }
      for (std::string& cell : rows[r]) t.cells.push_back(std::move(cell));
    }
  }
  for (const std::string& c : t.columns) {
    if (c.empty()) throw ConfigError(fmt::format("{}: '{}' has an empty column name", where, path));
  }
}

}  // namespace spiker::config
