#include "importers/importer.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/redact.h"

namespace spiker::importers {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped, and a literal
// "${" kept literal ($${), so that recorded text is never read as a variable.
std::string quoted(std::string_view s, bool templated = false) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04X}", c);
    } else if (!templated && c == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      out += "$${";
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// A bare key when it can be one, else quoted.
std::string key(std::string_view k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  return bare ? std::string(k) : quoted(k);
}

std::string inline_table(const Pairs& pairs, bool templated) {
  std::string out = "{ ";
  for (size_t i = 0; i < pairs.size(); ++i) {
    out += (i ? ", " : "") + key(pairs[i].first) + " = " + quoted(pairs[i].second, templated);
  }
  return out + " }";
}

}  // namespace

bool passes_filter(const std::string& url, const ImportOptions& o) {
  if (o.filter.empty()) return true;
  static thread_local std::string last;
  static thread_local std::unique_ptr<re2::RE2> re;
  if (!re || last != o.filter) {
    re = std::make_unique<re2::RE2>(o.filter);
    last = o.filter;
    if (!re->ok()) {
      throw SetupError(fmt::format("--filter '{}': {} (RE2 syntax)", o.filter, re->error()),
                       kExitUsage);
    }
  }
  return re2::RE2::PartialMatch(url, *re);
}

std::string step_name(size_t index, const std::string& method, const std::string& url) {
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string p = path == std::string::npos ? "/" : url.substr(path);
  p = p.substr(0, p.find('?'));
  if (p.size() > 40) p = p.substr(0, 39) + "…";
  return fmt::format("{} {} {}", index, method, p);
}

void add_step(Collection& c, Scenario& s, Step st, const std::string& path) {
  if (c.steps >= kMaxSteps) {
    throw SetupError(fmt::format("import: '{}' has more than {} requests (the {}th: '{}'); a test "
                                 "file holds at most {} steps: keep the ones you load with "
                                 "--filter REGEX",
                                 path, kMaxSteps, kMaxSteps + 1, st.name.substr(0, 80), kMaxSteps),
                     kExitUsage);
  }
  // Unique within the scenario: at most kMaxSteps names to compare.
  auto taken = [&](const std::string& name) {
    return std::any_of(s.steps.begin(), s.steps.end(),
                       [&](const Step& other) { return other.name == name; });
  };
  while (taken(st.name)) st.name += fmt::format(" ({})", s.steps.size() + 1);
  size_t bytes =
      st.name.size() + st.method.size() + st.url.size() + st.body.size() + st.note.size();
  for (const auto& [k, v] : st.headers) bytes += k.size() + v.size();
  check_size(c, bytes, path, st.name);
  c.bytes += bytes;
  ++c.steps;
  s.steps.push_back(std::move(st));
}

void check_size(const Collection& c, size_t n, const std::string& path, std::string_view where) {
  if (n <= kMaxRequestBytes && c.bytes + n <= kMaxRequestBytes) return;
  throw SetupError(fmt::format("import: '{}': the test file would hold over {} MiB of request text "
                               "(at '{}'); a {{{{variable}}}}, parameter or example that expands "
                               "this much is a mistake: shorten it, or leave the request out with "
                               "--filter REGEX",
                               path, kMaxRequestBytes >> 20, where.substr(0, 80)),
                   kExitUsage);
}

Collection read_collection(const std::string& path, const ImportOptions& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw SetupError(fmt::format("import: cannot read '{}'; check the path", path), kExitUsage);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::string format = o.format;
  if (format.empty()) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower.ends_with(".har")) {
      format = "har";
    } else if (text.find("\"_postman_id\"") != std::string::npos ||
               text.find("schema.getpostman.com") != std::string::npos) {
      format = "postman";
    } else if (text.find("openapi") != std::string::npos) {
      format = "openapi";
    } else if (text.find("\"log\"") != std::string::npos &&
               text.find("\"entries\"") != std::string::npos) {
      format = "har";
    } else {
      throw SetupError(fmt::format("import: cannot tell what '{}' is; give --format har, "
                                   "postman or openapi",
                                   path),
                       kExitUsage);
    }
  }
  Collection c;
  if (format == "har") {
    c = read_har(text, path, o);
  } else if (format == "postman") {
    c = read_postman(text, path, o);
  } else if (format == "openapi") {
    c = read_openapi(text, path, o);
  } else {
    throw SetupError(fmt::format("--format '{}': use har, postman or openapi", format), kExitUsage);
  }
  size_t steps = 0;
  for (const Scenario& s : c.scenarios) steps += s.steps.size();
  if (steps == 0) {
    throw SetupError(fmt::format("import: '{}' has no request to import{}", path,
                                 c.skipped > 0 ? fmt::format(" ({} left out by --filter or as "
                                                             "static assets)",
                                                             c.skipped)
                                               : ""),
                     kExitUsage);
  }
  return c;
}

namespace {

// A recording of one request, however many times (a HAR of the same call): that request.
const Step* single_request(const Collection& c) {
  if (c.kind != "HAR file" || !c.variables.empty()) return nullptr;
  const Step* first = nullptr;
  for (const Scenario& s : c.scenarios) {
    for (const Step& st : s.steps) {
      if (first == nullptr) {
        first = &st;
      } else if (st.method != first->method || st.url != first->url || st.body != first->body ||
                 st.headers != first->headers) {
        return nullptr;
      }
    }
  }
  return first;
}

}  // namespace

std::string to_toml(const Collection& c, const std::string& source) {
  size_t steps = 0;
  for (const Scenario& s : c.scenarios) steps += s.steps.size();
  std::string out = fmt::format(
      "# LoadSpiker test imported from the {} {}{}\n"
      "# ({} request{} in {} scenario{}{}).\n"
      "# Check it with `loadspiker validate FILE`, run it with `loadspiker run FILE`.\n"
      "# Each scenario runs its steps in order, once per iteration of each VU; the load below\n"
      "# is a start: change it, or give -c/-d/--arrival-rate on the command line.\n",
      c.kind, source, c.title.empty() ? "" : " (\"" + c.title + "\")", steps, steps == 1 ? "" : "s",
      c.scenarios.size(), c.scenarios.size() == 1 ? "" : "s",
      c.skipped ? fmt::format("; {} left out", c.skipped) : "");
  for (const std::string& n : c.notes) out += "# Note: " + n + "\n";
  out += "\n[load]\nconcurrency = 10\nduration = \"30s\"\n";
  if (const Step* one = single_request(c)) {  // Kaioken's shape for it: one [target]
    out += "\n[target]\n";
    out += fmt::format("method = {}\nurl = {}\n", quoted(one->method),
                       quoted(one->url, one->templated));
    Pairs headers = c.headers;
    headers.insert(headers.end(), one->headers.begin(), one->headers.end());
    if (!headers.empty()) out += "headers = " + inline_table(headers, one->templated) + "\n";
    if (!one->body.empty()) out += "body = " + quoted(one->body, one->templated) + "\n";
    if (c.cookie_jar) out += "cookie_jar = true\n";
    if (one->expect_status > 0) out += fmt::format("# recorded status: {}\n", one->expect_status);
    return out;
  }
  if (!c.variables.empty()) {
    out +=
        "\n# Variables of the collection: ${NAME:-default} reads the environment first, so\n"
        "# NAME=value loadspiker run FILE overrides one.\n";
  }
  bool defaults = c.cookie_jar || !c.headers.empty();
  if (defaults) {
    out += "\n[defaults]\n";
    if (c.cookie_jar) {
      out += "cookie_jar = true  # cookies the server sets are sent back (recorded ones are not)\n";
    }
    if (!c.headers.empty()) out += "headers = " + inline_table(c.headers, true) + "\n";
  }
  for (const Scenario& s : c.scenarios) {
    out += fmt::format("\n[[scenarios]]\nname = {}\n", quoted(s.name));
    for (const Step& st : s.steps) {
      out += "\n";
      if (!st.note.empty()) out += "# " + st.note + "\n";
      out += fmt::format("[[scenarios.steps]]\nname = {}\nmethod = {}\nurl = {}\n", quoted(st.name),
                         quoted(st.method), quoted(st.url, st.templated));
      if (!st.headers.empty()) {
        out += "headers = " + inline_table(st.headers, st.templated) + "\n";
      }
      if (!st.body.empty()) out += "body = " + quoted(st.body, st.templated) + "\n";
      if (st.expect_status > 0) {
        out += fmt::format("checks = [\"status == {}\"]  # as recorded / documented\n",
                           st.expect_status);
      }
    }
  }
  return out;
}

}  // namespace spiker::importers
