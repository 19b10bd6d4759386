// The HTTP/1.1 text of a plan::HttpMessage, for the protocols that speak it (HTTP/1.1 and the
// WebSocket upgrade) and for serializing static requests once.
#pragma once

#include <string>

#include "plan/request.h"

namespace spiker::proto {

// Appends the request line, Host and headers (and Connection: close), no Content-Length and no
// blank line: the head a WebSocket upgrade adds its own headers to.
void append_http1_head(const plan::HttpMessage& m, std::string& out);
// Appends the whole request: the head, Content-Length when `m.length`, the blank line, the body
// (not a shared body: the caller writes that after, from where it lives).
void append_http1(const plan::HttpMessage& m, std::string& out);

}  // namespace spiker::proto
