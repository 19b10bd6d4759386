// HAR 1.2 (browser DevTools, Kaioken's sample.har): the entries in order, as one scenario.
// Headers the engine or the cookie jar writes (Host, Content-Length, Cookie, HTTP/2 pseudo
// headers, hop-by-hop) are left out; static assets too unless --keep-static.
#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "core/error.h"
#include "core/json.h"
#include "core/strings.h"
#include "importers/importer.h"

namespace spiker::importers {
namespace {

bool is_static(const std::string& url, const std::string& mime) {
  std::string path = url.substr(0, url.find('?'));
  std::transform(path.begin(), path.end(), path.begin(), ::tolower);
  for (const char* ext :
       {".css",  ".js",   ".mjs",   ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico",  ".webp",
        ".avif", ".woff", ".woff2", ".ttf", ".otf", ".eot",  ".map", ".mp4", ".webm", ".mp3"}) {
    if (path.ends_with(ext)) return true;
  }
  for (const char* type : {"image/", "font/", "text/css", "javascript", "video/", "audio/"}) {
    if (mime.find(type) != std::string::npos) return true;
  }
  return false;
}

bool engine_header(std::string_view name) {
  if (name.starts_with(":")) return true;
  for (const char* h :
       {"host", "content-length", "cookie", "connection", "keep-alive", "transfer-encoding",
        "upgrade", "te", "proxy-connection", "accept-encoding"}) {
    if (iequals(name, h)) return true;
  }
  return false;
}

}  // namespace

Collection read_har(const std::string& text, const std::string& path, const ImportOptions& o) {
  check_nesting(text, path, "a HAR file is never this deep: is it the right file?");
  nlohmann::json d;
  try {
    d = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw SetupError(fmt::format("import: '{}' is not JSON (a HAR file is): {}", path, e.what()),
                     kExitUsage);
  }
  Collection c;
  c.kind = "HAR file";
  c.cookie_jar = true;
  Scenario s;
  s.name = "recorded";
  try {
    const nlohmann::json& entries = d.at("log").at("entries");
    if (d["log"].contains("pages") && !d["log"]["pages"].empty()) {
      c.title = d["log"]["pages"][0].value("title", "");
    }
    for (const nlohmann::json& e : entries) {
      const nlohmann::json& r = e.at("request");
      Step st;
      st.method = r.at("method").get<std::string>();
      st.url = r.at("url").get<std::string>();
      std::string mime;
      if (e.contains("response")) {
        st.expect_status = e["response"].value("status", 0);
        mime = e["response"].value("/content/mimeType"_json_pointer, std::string());
      }
      if (!passes_filter(st.url, o) || (!o.keep_static && is_static(st.url, mime))) {
        ++c.skipped;
        continue;
      }
      if (st.expect_status < 100 || st.expect_status > 599) st.expect_status = 0;
      std::unordered_set<std::string> seen;  // lower-case names: the first of each is kept
      for (const nlohmann::json& h : r.value("headers", nlohmann::json::array())) {
        std::string name = h.at("name").get<std::string>();
        if (engine_header(name)) continue;
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        if (seen.insert(std::move(lower)).second) {
          st.headers.emplace_back(name, h.at("value").get<std::string>());
        }
      }
      if (r.contains("postData")) {
        const nlohmann::json& pd = r["postData"];
        if (pd.contains("text")) {
          st.body = pd["text"].get<std::string>();
        } else if (pd.contains("params")) {  // a form, as fields
          for (const nlohmann::json& p : pd["params"]) {
            st.body +=
                (st.body.empty() ? "" : "&") + p.value("name", "") + "=" + p.value("value", "");
          }
        }
        std::string type = pd.value("mimeType", "");
        if (!type.empty() && !seen.contains("content-type")) {
          st.headers.emplace_back("Content-Type", type);
        }
      }
      st.name = step_name(s.steps.size() + 1, st.method, st.url);
      if (e.contains("time")) {
        st.note = fmt::format("recorded: {} in {} ms",
                              st.expect_status ? std::to_string(st.expect_status) : "no status",
                              e.value("time", 0.0));
      }
      add_step(c, s, std::move(st), path);
    }
  } catch (const SetupError&) {
    throw;
  } catch (const std::exception& e) {
    throw SetupError(fmt::format("import: '{}' is not a HAR file: {} (expected log.entries[] "
                                 "with request.method and request.url)",
                                 path, e.what()),
                     kExitUsage);
  }
  if (c.skipped > 0) {
    c.notes.push_back(
        fmt::format("{} request{} left out ({}); --keep-static keeps assets", c.skipped,
                    c.skipped == 1 ? "" : "s",
                    o.filter.empty() ? "static assets" : "--filter and static assets"));
  }
  c.notes.push_back(
      "recorded Authorization and API key headers are kept as recorded: they may have expired, "
      "and outputs show them as <redacted>");
  c.scenarios.push_back(std::move(s));
  return c;
}

}  // namespace spiker::importers
