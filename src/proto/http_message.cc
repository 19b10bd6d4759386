#include "proto/http_message.h"

#include <charconv>

namespace spiker::proto {

void append_http1_head(const plan::HttpMessage& m, std::string& out) {
  out += m.method;
  out += ' ';
  out += m.target;
  out += " HTTP/1.1\r\nHost: ";
  out += m.authority;
  out += "\r\n";
  for (const auto& [name, value] : m.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (m.close) out += "Connection: close\r\n";
}

void append_http1(const plan::HttpMessage& m, std::string& out) {
  append_http1_head(m, out);
  if (m.length) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, m.body_bytes().size());
    out += "Content-Length: ";
    out.append(digits, end);
    out += "\r\n";
  }
  out += "\r\n";
  if (m.shared_body.data() == nullptr) out += m.body;
}

}  // namespace spiker::proto
