#include "protocols/redis/resp.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "core/strings.h"

namespace spiker::redis {

bool split_command(std::string_view line, std::vector<std::string>* args) {
  args->clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() &&
           (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) {
      ++i;
    }
    if (i >= line.size()) break;
    std::string arg;
    if (line[i] == '"' || line[i] == '\'') {
      char q = line[i++];
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == q) {
          closed = true;
          break;
        }
        if (c == '\\' && q == '"' && i < line.size()) {
          char e = line[i++];
          switch (e) {
            case 'n':
              arg += '\n';
              break;
            case 'r':
              arg += '\r';
              break;
            case 't':
              arg += '\t';
              break;
            case 'x':
              if (i + 2 <= line.size()) {
                unsigned v = 0;
                std::from_chars(line.data() + i, line.data() + i + 2, v, 16);
                arg += static_cast<char>(v);
                i += 2;
              }
              break;
            default:
              arg += e;
          }
          continue;
        }
        arg += c;
      }
      if (!closed) return false;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
             line[i] != '\n') {
        arg += line[i++];
      }
    }
    args->push_back(std::move(arg));
  }
  return true;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

int encode_line(std::string_view line, std::string& out, std::vector<std::string>* scratch) {
  // One scan: the arguments' places, unless a quote or backslash needs the full splitter.
  constexpr size_t kMaxFast = 16;
  std::string_view args[kMaxFast];
  size_t count = 0, size = 0;
  bool fast = true;
  size_t i = 0;
  while (i < line.size() && fast) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_space(line[i])) {
      char c = line[i++];
      if (c == '"' || c == '\'' || c == '\\') fast = false;
    }
    if (i == start) break;
    if (count == kMaxFast) fast = false;
    if (!fast) break;
    args[count] = line.substr(start, i - start);
    size += args[count].size() + 16;
    ++count;
  }
  if (!fast) {
    if (!split_command(line, scratch)) return -1;
    if (!scratch->empty()) encode_command(*scratch, out);
    return static_cast<int>(scratch->size());
  }
  if (count == 0) return 0;
  size_t at = out.size();
  out.resize(at + size + 16);
  char* p = out.data() + at;
  *p++ = '*';
  p = std::to_chars(p, p + 20, count).ptr;
  *p++ = '\r';
  *p++ = '\n';
  for (size_t k = 0; k < count; ++k) {
    *p++ = '$';
    p = std::to_chars(p, p + 20, args[k].size()).ptr;
    *p++ = '\r';
    *p++ = '\n';
    std::memcpy(p, args[k].data(), args[k].size());
    p += args[k].size();
    *p++ = '\r';
    *p++ = '\n';
  }
  out.resize(static_cast<size_t>(p - out.data()));
  return static_cast<int>(count);
}

void encode_command(const std::vector<std::string>& args, std::string& out) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const std::string& a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

namespace {

constexpr size_t kBad = SIZE_MAX;
constexpr int64_t kMaxBulk = 512ll << 20;  // Redis's own limit
constexpr int kMaxDepth = 32;

// One reply at `in`; returns its length, 0 when incomplete, kBad when not RESP.
size_t parse(std::string_view in, Reply* out, int depth) {
  if (in.empty()) return 0;
  if (depth > kMaxDepth) return kBad;
  size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos) return in.size() > 64 * 1024 ? kBad : 0;
  std::string_view line = in.substr(1, eol - 1);
  size_t head = eol + 2;
  auto number = [&](int64_t* n) {
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), *n);
    return ec == std::errc() && p == line.data() + line.size();
  };
  switch (in[0]) {
    case '+':
      out->kind = Reply::Kind::kSimple;
      out->text.assign(line);
      return head;
    case '-':
    case '!':
      out->kind = Reply::Kind::kError;
      out->text.assign(line);
      return head;
    case ':':
    case ',':
    case '(':
      out->kind = Reply::Kind::kInteger;
      out->text.assign(line);
      return head;
    case '#':
      out->kind = Reply::Kind::kOther;
      out->text = line == "t" ? "true" : "false";
      return head;
    case '_':
      out->kind = Reply::Kind::kNull;
      out->text.clear();
      return head;
    case '$':
    case '=': {
      int64_t n = 0;
      if (!number(&n) || n > kMaxBulk) return kBad;
      if (n < 0) {
        out->kind = Reply::Kind::kNull;
        out->text.clear();
        return head;
      }
      size_t total = head + static_cast<size_t>(n) + 2;
      if (in.size() < total) return 0;
      out->kind = Reply::Kind::kBulk;
      out->text.assign(in.substr(head, static_cast<size_t>(n)));
      return total;
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      int64_t n = 0;
      if (!number(&n) || n > 1'000'000) return kBad;
      if (n < 0) {
        out->kind = Reply::Kind::kNull;
        out->text.clear();
        return head;
      }
      int64_t items = in[0] == '%' ? 2 * n : n;
      size_t at = head;
      std::string json = "[";
      for (int64_t k = 0; k < items; ++k) {
        Reply item;
        size_t len = parse(in.substr(at), &item, depth + 1);
        if (len == 0 || len == kBad) return len;
        at += len;
        if (k > 0) json += ',';
        if (item.kind == Reply::Kind::kNull) {
          json += "null";
        } else if (item.kind == Reply::Kind::kInteger || item.kind == Reply::Kind::kArray) {
          json += item.text;
        } else {
          append_json_string(json, item.text);
        }
      }
      json += ']';
      out->kind = Reply::Kind::kArray;
      out->text = std::move(json);
      return at;
    }
    default:
      return kBad;
  }
}

}  // namespace

size_t parse_reply(std::string_view in, Reply* out) { return parse(in, out, 0); }

}  // namespace spiker::redis
