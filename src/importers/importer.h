// `loadspiker import`: HAR recordings, Postman collections (v2.1) and OpenAPI 3 specs turned
// into a commented TOML journey file that `validate` accepts and `run` runs. Each format reads
// into the same model (scenarios of steps); one writer makes the TOML.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "importers/limits.h"

namespace spiker::importers {

struct ImportOptions {
  std::string format;        // har, postman, openapi; empty: from the file
  std::string filter;        // keep only requests whose URL matches this RE2 (search)
  bool keep_static = false;  // HAR: keep images, scripts, styles and fonts
  std::string base_url;      // OpenAPI: the server to load (default: its first servers[] url)
};

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Step {
  std::string name, method, url;
  Pairs headers;
  std::string body;
  int expect_status = 0;   // a recorded or documented status: becomes a check
  std::string note;        // a comment above the step
  bool templated = false;  // ${...} in its text are variables (else written literally)
};

struct Scenario {
  std::string name;
  std::vector<Step> steps;
};

struct Collection {
  std::string kind;  // "HAR file", "Postman collection", "OpenAPI document"
  std::string title;
  std::vector<Scenario> scenarios;
  Pairs variables;  // Postman variables: written as environment defaults
  Pairs headers;    // for every step ([defaults] headers), e.g. auth
  bool cookie_jar = false;
  std::vector<std::string> notes;  // printed and written at the top
  size_t skipped = 0;              // requests left out (filter, static assets)
  size_t steps = 0;                // requests kept (add_step), at most kMaxSteps
  size_t bytes = 0;                // their text (add_step), at most kMaxRequestBytes
};

// Reads `path` (throws SetupError naming it and what is wrong).
Collection read_collection(const std::string& path, const ImportOptions& o);
// The collection as a TOML journey file.
std::string to_toml(const Collection& c, const std::string& source);

// The readers (har.cc, postman.cc, openapi.cc), from the file's text.
Collection read_har(const std::string& text, const std::string& path, const ImportOptions& o);
Collection read_postman(const std::string& text, const std::string& path, const ImportOptions& o);
Collection read_openapi(const std::string& text, const std::string& path, const ImportOptions& o);

// Adds `st` to `s` (its name made unique there) and counts it; refuses (SetupError) the request
// past kMaxSteps or past kMaxRequestBytes of text as it comes, so a file of 100,000 requests is
// refused at the 65th instead of after reading them all.
void add_step(Collection& c, Scenario& s, Step st, const std::string& path);
// Refuses (SetupError) `n` bytes of text being made for request `where` (a URL, a header, a
// body growing as {{variables}} or parameters are filled in) when they would take the test
// file past kMaxRequestBytes. Called as the text grows, before it can grow further.
void check_size(const Collection& c, size_t n, const std::string& path, std::string_view where);

// Shared helpers: whether the URL passes --filter; a step name from method and path.
bool passes_filter(const std::string& url, const ImportOptions& o);
std::string step_name(size_t index, const std::string& method, const std::string& url);

}  // namespace spiker::importers
