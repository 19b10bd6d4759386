#include "target/routes.h"

#include <fmt/format.h>

#include <charconv>

#include "core/json.h"

namespace spiker::target {
namespace {

constexpr int64_t kMaxBytes = 64 << 20;
constexpr int64_t kMaxDelayMs = 600'000;

bool parse_int(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response json_response(int status, const nlohmann::json& doc) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

std::string sign(uint64_t secret, std::string_view user) {
  uint64_t h = secret ^ 0x9e3779b97f4a7c15ull;
  for (char c : user) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return fmt::format("ls_{}_{:016x}", user, h);
}

// The user a token was issued to, or empty when the signature does not match.
std::string verify(uint64_t secret, std::string_view token) {
  if (!token.starts_with("ls_")) return {};
  size_t last = token.rfind('_');
  if (last <= 3) return {};
  std::string user(token.substr(3, last - 3));
  return sign(secret, user) == token ? user : std::string();
}

std::string username_of(const Request& req) {
  std::string user = "demo";
  try {
    auto doc = nlohmann::json::parse(req.body);
    if (doc.is_object() && doc.contains("username") && doc["username"].is_string()) {
      user = doc["username"].get<std::string>();
    }
  } catch (...) {
    std::string_view b = req.body;  // form-encoded
    size_t at = b.find("username=");
    if (at != std::string_view::npos) {
      std::string_view v = b.substr(at + 9);
      user = std::string(v.substr(0, v.find('&')));
    }
  }
  std::string clean;
  for (char c : user) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') clean += c;
  }
  return clean.empty() ? "demo" : clean.substr(0, 64);
}

std::string cookie_value(std::string_view cookies, std::string_view name) {
  size_t at = 0;
  while (at < cookies.size()) {
    size_t end = cookies.find(';', at);
    std::string_view kv = cookies.substr(at, end == std::string_view::npos ? end : end - at);
    while (!kv.empty() && kv.front() == ' ') kv.remove_prefix(1);
    if (kv.starts_with(name) && kv.size() > name.size() && kv[name.size()] == '=') {
      return std::string(kv.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return {};
}

}  // namespace

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

Response route(const Request& req, RouteContext& ctx, int64_t now_ns) {
  std::string_view path = req.path();
  int64_t n = 0;
  if (path == "/") return text(200, "Hello from LoadSpiker\n");
  if (path == "/json") {
    return json_response(
        200, {{"service", "loadspiker-target"},
              {"ok", true},
              {"items", {{{"id", 1}, {"name", "alpha"}}, {{"id", 2}, {"name", "beta"}}}}});
  }
  if (path.starts_with("/bytes/")) {
    if (!parse_int(path.substr(7), &n) || n < 0 || n > kMaxBytes) {
      return text(400, "bytes: give a size from 0 to 67108864\n");
    }
    Response r = text(200, std::string(static_cast<size_t>(n), 'x'));
    r.content_type = "application/octet-stream";
    return r;
  }
  if (path.starts_with("/delay/")) {
    if (!parse_int(path.substr(7), &n) || n < 0 || n > kMaxDelayMs) {
      return text(400, "delay: give milliseconds from 0 to 600000\n");
    }
    Response r = text(200, fmt::format("delayed {}ms\n", n));
    r.delay_ms = n;
    return r;
  }
  if (path.starts_with("/status/")) {
    if (!parse_int(path.substr(8), &n) || n < 200 || n > 599) {
      return text(400, "status: give a code from 200 to 599\n");
    }
    return text(static_cast<int>(n), fmt::format("status {}\n", n));
  }
  if (path == "/echo") {
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [k, v] : req.headers) headers[std::string(k)] = std::string(v);
    return json_response(200, {{"method", req.method},
                               {"path", path},
                               {"query", req.query()},
                               {"headers", headers},
                               {"body", req.body}});
  }
  if (path == "/login") {
    if (req.method != "POST") return text(405, "login: use POST\n");
    std::string user = username_of(req);
    std::string token = sign(ctx.secret, user);
    Response r = json_response(200, {{"token", token}, {"user", user}});
    r.headers.emplace_back("Set-Cookie", fmt::format("session={}; Path=/; HttpOnly", token));
    return r;
  }
  if (path == "/me" || path == "/cart") {
    std::string token;
    std::string_view auth = req.header("authorization");
    if (auth.starts_with("Bearer ")) token = std::string(auth.substr(7));
    if (token.empty()) token = cookie_value(req.header("cookie"), "session");
    std::string user = verify(ctx.secret, token);
    if (user.empty()) return json_response(401, {{"error", "log in at POST /login first"}});
    return json_response(200, {{"user", user}});
  }
  if (path == "/items" || path.starts_with("/items/")) {
    constexpr size_t kMaxItems = 1'000'000;
    std::lock_guard<std::mutex> lock(ctx.items_mutex);
    if (path == "/items") {
      if (req.method != "POST") return json_response(200, {{"count", ctx.items.size()}});
      if (ctx.items.size() >= kMaxItems) return json_response(507, {{"error", "store full"}});
      uint64_t id = ctx.next_item++;
      ctx.items[id] = req.body;
      return json_response(201, {{"id", id}});
    }
    if (!parse_int(path.substr(7), &n) || n <= 0) return text(400, "items: /items/{id}\n");
    auto it = ctx.items.find(static_cast<uint64_t>(n));
    if (it == ctx.items.end()) return json_response(404, {{"error", "no such item"}});
    if (req.method == "DELETE") {
      ctx.items.erase(it);
      return text(204, "");
    }
    if (req.method == "PUT" || req.method == "PATCH") it->second = req.body;
    return json_response(200, {{"id", n}, {"data", it->second}});
  }
  if (path.starts_with("/redirect/")) {
    if (!parse_int(path.substr(10), &n) || n < 0 || n > 100) {
      return text(400, "redirect: give a count from 0 to 100\n");
    }
    if (n == 0) return text(200, "redirected\n");
    Response r = text(302, "");
    r.headers.emplace_back("Location", fmt::format("/redirect/{}", n - 1));
    return r;
  }
  if (path == "/cookies/set") {  // /cookies/set?name=value&...: each pair becomes a cookie
    Response r = json_response(200, {{"set", req.query()}});
    std::string_view q = req.query();
    while (!q.empty()) {
      std::string_view pair = q.substr(0, q.find('&'));
      if (pair.find('=') != std::string_view::npos) {
        r.headers.emplace_back("Set-Cookie", fmt::format("{}; Path=/", pair));
      }
      if (pair.size() == q.size()) break;
      q.remove_prefix(pair.size() + 1);
    }
    return r;
  }
  if (path == "/cookies") {
    return json_response(200, {{"cookies", std::string(req.header("cookie"))}});
  }
  if (path == "/stall" || path.starts_with("/stall/")) {
    std::string_view ms = path.size() > 7 ? path.substr(7) : req.query();
    if (ms.starts_with("ms=")) ms.remove_prefix(3);
    if (!parse_int(ms, &n) || n < 0 || n > kMaxDelayMs) {
      return text(400, "stall: give /stall?ms=N (0 to 600000)\n");
    }
    ctx.stall_until_ns.store(now_ns + n * 1'000'000);
    return json_response(200, {{"stalled_ms", n}});
  }
  return text(404, "not found\n");
}

std::string serialize(const Response& r, bool keep_alive, bool head_only) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nServer: loadspiker-target\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
      r.status, reason_phrase(r.status), r.content_type, r.body.size());
  for (const auto& [k, v] : r.headers) out += fmt::format("{}: {}\r\n", k, v);
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

}  // namespace spiker::target
