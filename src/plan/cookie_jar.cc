#include "plan/cookie_jar.h"

#include <strings.h>

#include <cstdlib>
#include <ctime>

#include "core/strings.h"

namespace spiker::plan {
namespace {

int64_t unix_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// "Wed, 21 Oct 2026 07:28:00 GMT" (and the other forms strptime reads) to Unix ms; 0 if not.
int64_t parse_http_date(std::string_view text) {
  std::string s(text);
  tm t{};
  for (const char* fmt :
       {"%a, %d %b %Y %H:%M:%S", "%a, %d-%b-%Y %H:%M:%S", "%A, %d-%b-%y %H:%M:%S"}) {
    t = {};
    if (strptime(s.c_str(), fmt, &t) != nullptr) return static_cast<int64_t>(timegm(&t)) * 1000;
  }
  return 0;
}

bool domain_matches(std::string_view host, const Cookie& c) {
  if (c.host_only) return iequals(host, c.domain);
  if (iequals(host, c.domain)) return true;
  return host.size() > c.domain.size() && host[host.size() - c.domain.size() - 1] == '.' &&
         iequals(host.substr(host.size() - c.domain.size()), c.domain);
}

bool path_matches(std::string_view request_path, std::string_view cookie_path) {
  if (!request_path.starts_with(cookie_path)) return false;
  return request_path.size() == cookie_path.size() || cookie_path.ends_with("/") ||
         request_path[cookie_path.size()] == '/' || request_path[cookie_path.size()] == '?';
}

}  // namespace

void store_cookie(std::vector<Cookie>& jar, std::string_view set_cookie, std::string_view host,
                  int64_t now) {
  std::string_view rest = set_cookie;
  std::string_view pair = rest.substr(0, rest.find(';'));
  size_t eq = pair.find('=');
  if (eq == std::string_view::npos || trim(pair.substr(0, eq)).empty()) return;
  Cookie c;
  c.name = std::string(trim(pair.substr(0, eq)));
  c.value = std::string(trim(pair.substr(eq + 1)));
  c.domain = std::string(host);
  c.path.assign(1, '/');  // (= "/" trips GCC 12's -Wrestrict false positive)
  bool remove = false;
  for (size_t at = rest.find(';'); at != std::string_view::npos;) {
    size_t next = rest.find(';', at + 1);
    std::string_view attr =
        trim(rest.substr(at + 1, next == std::string_view::npos ? next : next - at - 1));
    at = next;
    size_t aeq = attr.find('=');
    std::string_view key = trim(attr.substr(0, aeq));
    std::string_view val = aeq == std::string_view::npos ? "" : trim(attr.substr(aeq + 1));
    if (iequals(key, "path") && val.starts_with("/")) {
      c.path = std::string(val);
    } else if (iequals(key, "domain") && !val.empty()) {
      if (val.starts_with(".")) val.remove_prefix(1);
      Cookie probe;
      probe.domain = std::string(val);
      probe.host_only = false;
      if (!domain_matches(host, probe)) return;  // a domain this host may not set: ignored
      c.domain = probe.domain;
      c.host_only = false;
    } else if (iequals(key, "max-age")) {
      if (now == 0) now = unix_ms();
      long long secs = std::atoll(std::string(val).c_str());
      if (secs <= 0) {
        remove = true;
      } else {
        c.expires_unix_ms = now + secs * 1000;
      }
    } else if (iequals(key, "expires") && c.expires_unix_ms == 0 && !remove) {
      int64_t t = parse_http_date(val);
      if (now == 0) now = unix_ms();
      if (t != 0 && t <= now) remove = true;
      if (t != 0) c.expires_unix_ms = t;
    } else if (iequals(key, "secure")) {
      c.secure = true;
    }
  }
  std::erase_if(jar, [&](const Cookie& x) {
    return x.name == c.name && iequals(x.domain, c.domain) && x.path == c.path;
  });
  if (!remove) jar.push_back(std::move(c));
}

std::string cookie_header(const std::vector<Cookie>& jar, std::string_view host, bool tls,
                          std::string_view path, int64_t now) {
  std::string out;
  bool first = true;
  for (const Cookie& c : jar) {
    if (c.secure && !tls) continue;
    if (!domain_matches(host, c) || !path_matches(path, c.path)) continue;
    if (c.expires_unix_ms != 0) {
      if (now == 0) now = unix_ms();
      if (c.expires_unix_ms <= now) continue;
    }
    if (!first) out += "; ";
    out += c.name;
    out += '=';
    out += c.value;
    first = false;
  }
  return out;
}

}  // namespace spiker::plan
