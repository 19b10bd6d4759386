// Reads HTTP/1.1 requests for the embedded target out of a connection's input buffer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spiker::target {

struct Request {
  std::string_view method;
  std::string_view target;  // path and query
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string body;  // decoded (chunked bodies are de-chunked)
  bool keep_alive = true;

  std::string_view path() const { return target.substr(0, target.find('?')); }
  std::string_view query() const {
    size_t q = target.find('?');
    return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  }
  // The first header named `name` (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

enum class ReadStatus { kIncomplete, kComplete, kBad };

// Parses one request at the start of `buf`. On kComplete, `*used` is its length; the views in
// `req` point into `buf` and stay valid until `buf` changes.
ReadStatus read_request(std::string_view buf, Request* req, size_t* used);

}  // namespace spiker::target
