// Kaioken's request sources on [target]: urls_from_file, body_lines_file, rand_regex_url and
// form_data, compiled into the target step (data tables read round-robin or at random, a
// multipart body).
#include <fmt/format.h>

#include <random>
#include <string>
#include <vector>

#include "config/journey_parts.h"
#include "config/regex_sample.h"

namespace spiker::config::detail {

namespace {

// scheme://host[:port] of a URL ("" when it has none).
std::string origin_of(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  return std::string(url.substr(0, url.find('/', scheme + 3)));
}

plan::DataTable one_column(std::string name, std::string column, std::vector<std::string> rows,
                           plan::Strategy strategy, std::string file) {
  plan::DataTable t;
  t.name = std::move(name);
  t.file = std::move(file);
  t.columns = {std::move(column)};
  t.cells = std::move(rows);
  t.strategy = strategy;
  t.stop_run_when_exhausted = false;
  return t;
}

// The file's lines that are not empty (a trailing \r dropped).
std::vector<std::string> lines_of(const std::string& file, const std::string& what) {
  std::string text = read_whole(file, what);
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(std::move(line));
    at = end + 1;
  }
  if (out.empty()) throw ConfigError(fmt::format("{}: the file has no lines", what));
  return out;
}

}  // namespace

// Kaioken's request sources on [target]: urls_from_file and body_lines_file as data tables read
// round-robin by all VUs (one shared cursor), rand_regex_url as a table of URLs drawn from the
// expression (taken at random), form_data as a multipart body.
void kaioken_sources(const TargetSection& target, const std::string& path, plan::Journey& j,
                     RawStep& st) {
  if (target.urls_from_file || target.rand_regex_url) {
    std::vector<std::string> urls;
    std::string what;
    plan::Strategy strategy = plan::Strategy::kCircular;
    if (target.urls_from_file) {
      std::string file = resolve_path(*target.urls_from_file, path);
      what = fmt::format("{} [target] urls_from_file '{}'", path, file);
      urls = lines_of(file, what);
    } else {
      what = fmt::format("{} [target] rand_regex_url", path);
      RegexSampler sampler(*target.rand_regex_url, what);
      std::mt19937_64 rng(std::random_device{}());
      for (int i = 0; i < 10'000; ++i) urls.push_back(sampler.sample(rng));
      strategy = plan::Strategy::kRandom;
    }
    std::string origin = origin_of(urls.front());
    if (origin.empty()) {
      throw ConfigError(
          fmt::format("{}: '{}' is not an absolute URL (http://host/path)", what, urls.front()));
    }
    std::vector<std::string> targets;
    for (size_t i = 0; i < urls.size(); ++i) {
      if (origin_of(urls[i]) != origin) {
        throw ConfigError(fmt::format(
            "{}: line {} ('{}') is on another host than line 1 ({}); one run loads one host: "
            "split the file by host",
            what, i + 1, urls[i], origin));
      }
      std::string rest = urls[i].substr(origin.size());  // the path and query, without '/'
      targets.push_back(rest.starts_with("/") ? rest.substr(1) : rest);
    }
    j.data.push_back(one_column("kaioken_urls", "target", std::move(targets), strategy, what));
    st.url = origin + "/${kaioken_urls.target}";
  }
  if (target.body_lines_file) {
    std::string file = resolve_path(*target.body_lines_file, path);
    std::string what = fmt::format("{} [target] body_lines_file '{}'", path, file);
    j.data.push_back(one_column("kaioken_bodies", "line", lines_of(file, what),
                                plan::Strategy::kCircular, what));
    st.body = {{false, "${kaioken_bodies.line}"}};
    st.has_body = true;
  }
  if (!target.form_data.empty()) {
    if (st.has_body) {
      throw ConfigError(fmt::format("{} [target]: form_data and a body exclude each other", path));
    }
    Pairs fields;
    for (const std::string& f : target.form_data) {
      size_t eq = f.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw ConfigError(
            fmt::format("{} [target] form_data '{}': write name=value or name=@path", path, f));
      }
      fields.emplace_back(f.substr(0, eq), f.substr(eq + 1));
    }
    add_multipart(fields, st, path);
  }
}

}  // namespace spiker::config::detail
