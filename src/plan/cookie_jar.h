// A VU's cookie jar, as browsers keep one (RFC 6265, the parts load tests meet): Set-Cookie with
// Path, Domain, Expires, Max-Age and Secure in; a Cookie header with the cookies that match a
// request's host, path and scheme out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spiker::plan {

struct Cookie {
  std::string name, value, domain, path;
  int64_t expires_unix_ms = 0;  // 0: a session cookie
  bool secure = false;
  bool host_only = true;  // no Domain attribute: sent back to this exact host only
};

// Applies one Set-Cookie header value received from `host`. `now_unix_ms` 0: the clock.
void store_cookie(std::vector<Cookie>& jar, std::string_view set_cookie, std::string_view host,
                  int64_t now_unix_ms = 0);

// The Cookie header's value ("a=1; b=2") for a request to `host` and `path`; empty when none
// match.
std::string cookie_header(const std::vector<Cookie>& jar, std::string_view host, bool tls,
                          std::string_view path, int64_t now_unix_ms = 0);

}  // namespace spiker::plan
