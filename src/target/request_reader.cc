#include "target/request_reader.h"

#include <charconv>

namespace spiker::target {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// De-chunks a body starting at buf[at]; kIncomplete until the last chunk and trailers arrived.
ReadStatus read_chunked(std::string_view buf, size_t at, std::string* body, size_t* end) {
  body->clear();
  for (;;) {
    size_t nl = buf.find('\n', at);
    if (nl == std::string_view::npos) return ReadStatus::kIncomplete;
    std::string_view line = trim(buf.substr(at, nl - at));
    line = line.substr(0, line.find(';'));
    size_t size = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (ec != std::errc() || p != line.data() + line.size() || size > (64u << 20))
      return ReadStatus::kBad;
    at = nl + 1;
    if (size == 0) {
      for (;;) {  // trailers up to an empty line
        size_t tn = buf.find('\n', at);
        if (tn == std::string_view::npos) return ReadStatus::kIncomplete;
        bool empty = trim(buf.substr(at, tn - at)).empty();
        at = tn + 1;
        if (empty) {
          *end = at;
          return ReadStatus::kComplete;
        }
      }
    }
    if (buf.size() < at + size + 1) return ReadStatus::kIncomplete;
    body->append(buf.substr(at, size));
    at += size;
    if (buf[at] == '\r') ++at;
    if (at >= buf.size()) return ReadStatus::kIncomplete;
    if (buf[at] != '\n') return ReadStatus::kBad;
    ++at;
  }
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

ReadStatus read_request(std::string_view buf, Request* req, size_t* used) {
  size_t head_end = buf.find("\r\n\r\n");
  size_t sep = 4;
  if (head_end == std::string_view::npos) {
    head_end = buf.find("\n\n");
    sep = 2;
  }
  if (head_end == std::string_view::npos) {
    return buf.size() > 64 * 1024 ? ReadStatus::kBad : ReadStatus::kIncomplete;
  }
  std::string_view head = buf.substr(0, head_end);
  size_t line_end = head.find('\n');
  std::string_view line = trim(head.substr(0, line_end));
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return ReadStatus::kBad;
  req->method = line.substr(0, sp1);
  req->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  // The absolute form (a request through a forward proxy), which servers must accept
  // (RFC 9112 3.2.2): the path and query are what routes read.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (req->target.substr(0, scheme.size()) == scheme) {
      size_t slash = req->target.find('/', scheme.size());
      req->target =
          slash == std::string_view::npos ? std::string_view("/") : req->target.substr(slash);
    }
  }
  std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return ReadStatus::kBad;
  if (req->target.empty() || req->target.front() != '/') return ReadStatus::kBad;
  req->headers.clear();
  while (line_end != std::string_view::npos) {
    size_t start = line_end + 1;
    line_end = head.find('\n', start);
    std::string_view h = trim(head.substr(
        start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start));
    if (h.empty()) continue;
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return ReadStatus::kBad;
    req->headers.emplace_back(h.substr(0, colon), trim(h.substr(colon + 1)));
  }
  std::string_view conn = req->header("connection");
  req->keep_alive = version == "HTTP/1.1" ? !iequals(conn, "close") : iequals(conn, "keep-alive");
  size_t body_start = head_end + sep;
  if (iequals(req->header("transfer-encoding"), "chunked")) {
    return read_chunked(buf, body_start, &req->body, used);
  }
  size_t length = 0;
  std::string_view cl = req->header("content-length");
  if (!cl.empty()) {
    auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), length);
    if (ec != std::errc() || p != cl.data() + cl.size() || length > (64u << 20))
      return ReadStatus::kBad;
  }
  if (buf.size() < body_start + length) return ReadStatus::kIncomplete;
  req->body.assign(buf.substr(body_start, length));
  *used = body_start + length;
  return ReadStatus::kComplete;
}

}  // namespace spiker::target
