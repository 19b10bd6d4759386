// One TOML table of a config file, read key by key: typed reads mark keys as known, errors name
// file:line:column, and finish() rejects unknown keys with a "did you mean".
#pragma once

#include <fmt/format.h>
#include <toml++/toml.h>

#include <climits>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "config/env_interpolate.h"
#include "core/strings.h"

namespace spiker::config {

using spiker::edit_distance;

// One table of the file: typed reads that mark keys as known, then finish() rejects the rest.
class Section {
 public:
  Section(const toml::table& t, std::string name, const std::string& file)
      : t_(t), name_(std::move(name)), file_(file) {}

  const std::string& file() const { return file_; }

  std::string where(const toml::node& n) const {
    return fmt::format("{}:{}:{}", file_, n.source().begin.line, n.source().begin.column);
  }

  const toml::node* get(std::string_view key) {
    known_.insert(std::string(key));
    return t_.get(key);
  }

  [[noreturn]] void wrong_type(std::string_view key, const toml::node& n, const char* want) const {
    throw ConfigError(fmt::format("{}: {} {}: expected {}", where(n), name_, key, want));
  }

  std::optional<std::string> str(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) wrong_type(key, *n, "a string");
    return *n->value<std::string>();
  }

  std::optional<bool> boolean(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) wrong_type(key, *n, "true or false");
    return *n->value<bool>();
  }

  std::optional<int64_t> integer(std::string_view key, int64_t max = INT64_MAX) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer() || *n->value<int64_t>() < 0 || *n->value<int64_t>() > max) {
      wrong_type(key, *n,
                 max == INT64_MAX ? "a whole number >= 0" : "a whole number from 0 to 10,000,000");
    }
    return *n->value<int64_t>();
  }

  std::optional<double> number(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_number() || *n->value<double>() < 0) wrong_type(key, *n, "a number >= 0");
    return *n->value<double>();
  }

  // A duration as Kaioken writes it ("500ms", "2m"); a bare number means seconds.
  std::optional<std::string> duration(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (n->is_string()) return *n->value<std::string>();
    if (n->is_number() && *n->value<double>() >= 0) return fmt::format("{}s", *n->value<double>());
    wrong_type(key, *n, "a duration such as \"10s\"");
  }

  void finish() const {
    for (auto&& [k, v] : t_) {
      std::string key(k.str());
      if (known_.count(key)) continue;
      std::string best;
      size_t best_d = 4;
      for (const std::string& known : known_) {
        size_t d = edit_distance(key, known);
        if (d < best_d) best_d = d, best = known;
      }
      throw ConfigError(fmt::format("{}:{}:{}: unknown key '{}' in {}{}", file_,
                                    k.source().begin.line, k.source().begin.column, key, name_,
                                    best.empty() ? fmt::format("; known keys: {}", list())
                                                 : fmt::format("; did you mean '{}'?", best)));
    }
  }

 private:
  std::string list() const {
    std::string out;
    for (const std::string& k : known_) out += (out.empty() ? "" : ", ") + k;
    return out;
  }

  const toml::table& t_;
  std::string name_;
  const std::string& file_;
  std::set<std::string> known_;
};

}  // namespace spiker::config
