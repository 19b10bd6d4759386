#include "config/checks_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace spiker::config {
namespace {

// A documented-form value as check text, quoted safely.
std::string quote_for_check(const std::string& s, const std::string& where) {
  if (s.find('"') == std::string::npos) return "\"" + s + "\"";
  if (s.find('\'') == std::string::npos) return "'" + s + "'";
  throw ConfigError(fmt::format("{}: a check text cannot hold both ' and \"", where));
}

// Kaioken's [[checks]]: each entry is one check (its conditions all hold), applied to every
// step in its scope (tags, scenario, step) and counted as one; steps' own checks get ids too.
}  // namespace

void attach_checks(Section& top, plan::Journey& j, const std::string& path) {
  uint16_t next_id = 0;
  auto new_id = [&](const std::string& name, const std::string& where) {
    if (next_id >= plan::kMaxChecks) {
      throw ConfigError(fmt::format("{}: more than {} checks in all", where, plan::kMaxChecks));
    }
    j.check_names.push_back(name);
    return next_id++;
  };
  for (plan::Scenario& sc : j.scenarios) {
    for (plan::Step& st : sc.steps) {
      for (plan::Check& c : st.checks) {
        std::string name = sc.steps.size() > 1 ? fmt::format("{}/{}: {}", sc.name, st.name, c.name)
                                               : fmt::format("{}: {}", sc.name, c.name);
        // The same step in two Kaioken scenarios (a shared login) shares its counts.
        auto it = std::find(j.check_names.begin(), j.check_names.end(), name);
        c.id = it != j.check_names.end() ? static_cast<uint16_t>(it - j.check_names.begin())
                                         : new_id(name, path);
        c.decides = true;
      }
    }
  }
  const toml::node* n = top.get("checks");
  if (n == nullptr) return;
  const toml::array* arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    top.wrong_type("checks", *n, "[[checks]] tables");
  }
  for (const toml::node& entry : *arr) {
    Section s(*entry.as_table(), "[[checks]]", path);
    std::string where = s.where(entry);
    std::vector<plan::Check> parts;
    std::vector<std::string> texts;
    auto add = [&](const std::string& text, const std::string& at) {
      parts.push_back(plan::Check::compile(text, at));
      texts.push_back(text);
    };
    std::optional<std::string> name = s.str("name");
    if (const toml::node* c = s.get("condition")) {
      if (!c->is_string()) s.wrong_type("condition", *c, "a condition such as \"status == 200\"");
      add(*c->value<std::string>(), s.where(*c));
    }
    if (const toml::node* st = s.get("status")) {
      if (st->is_integer()) {
        add(fmt::format("status == {}", *st->value<int64_t>()), s.where(*st));
      } else if (const toml::array* codes = st->as_array()) {
        std::string list;
        for (const toml::node& x : *codes) {
          if (!x.is_integer()) s.wrong_type("status", x, "status codes");
          list += (list.empty() ? "" : ", ") + std::to_string(*x.value<int64_t>());
        }
        add(fmt::format("status in [{}]", list), s.where(*st));
      } else {
        s.wrong_type("status", *st, "a status code or an array of them");
      }
    }
    if (auto v = s.str("status_regex")) add("status matches " + quote_for_check(*v, where), where);
    if (auto v = s.str("body_contains")) add("body contains " + quote_for_check(*v, where), where);
    if (auto v = s.str("body_not_contains")) {
      add("body not contains " + quote_for_check(*v, where), where);
    }
    if (auto v = s.str("body_matches")) add("body matches " + quote_for_check(*v, where), where);
    if (const toml::node* h = s.get("header_contains")) {
      const toml::table* t = h->as_table();
      if (t == nullptr) s.wrong_type("header_contains", *h, "a table { Name = \"text\" }");
      for (auto&& [k, v] : *t) {
        if (!v.is_string()) s.wrong_type("header_contains", v, "strings");
        add(fmt::format("header {} contains {}", k.str(),
                        quote_for_check(*v.value<std::string>(), where)),
            s.where(v));
      }
    }
    if (auto v = s.duration("max_latency")) add("latency < " + *v, where);
    std::vector<std::string> tags;
    if (const toml::node* t = s.get("tags")) {
      const toml::array* ta = t->as_array();
      if (ta == nullptr) s.wrong_type("tags", *t, "an array of tag names");
      for (const toml::node& x : *ta) {
        if (!x.is_string()) s.wrong_type("tags", x, "tag names");
        tags.push_back(*x.value<std::string>());
      }
    }
    std::optional<std::string> scenario = s.str("scenario"), step = s.str("step");
    bool fail_request = s.boolean("fail_request").value_or(false);
    s.finish();
    if (parts.empty()) {
      throw ConfigError(fmt::format(
          "{}: [[checks]] needs condition = \"...\" or status, status_regex, body_contains, "
          "body_not_contains, body_matches, header_contains, max_latency",
          where));
    }
    std::string label = name.value_or("");
    if (label.empty()) {
      for (const std::string& t : texts) label += (label.empty() ? "" : " && ") + t;
    }
    plan::Check check = plan::Check::all_of(label, std::move(parts));
    check.id = new_id(label, where);
    check.decides = false;               // counted; the request and step pass or fail as they would
    check.fails_request = fail_request;  // ... unless the user says a failure fails the request
    size_t applied = 0;
    for (plan::Scenario& sc : j.scenarios) {
      if (scenario && sc.name != *scenario) continue;
      for (plan::Step& st : sc.steps) {
        if (step && st.name != *step) continue;
        bool tagged = tags.empty();
        for (const std::string& want : tags) {
          for (const auto& [k, v] : st.tags) {
            tagged |= k == want || (!v.empty() && k + ":" + v == want);
          }
        }
        if (!tagged) continue;
        st.checks.push_back(check);
        st.capture_body |= check.needs_body();
        st.capture_headers |= check.needs_headers() || st.capture_body;
        ++applied;
      }
    }
    if (applied == 0) {
      throw ConfigError(fmt::format("{}: [[checks]] '{}' matches no step (scope: {}{}{})", where,
                                    label, scenario ? "scenario " + *scenario + " " : "",
                                    step ? "step " + *step + " " : "", tags.empty() ? "" : "tags"));
    }
  }
}

}  // namespace spiker::config
