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

constexpr int64_t kMaxBulk = 512ll << 20;  // Redis's own limit
constexpr int64_t kMaxElements = 1'000'000;
constexpr size_t kMaxDepth = 32;
constexpr size_t kMaxLine = 64 * 1024;  // a simple string, an error, a number

void append_element(std::string& json, const Reply& item) {
  if (item.kind == Reply::Kind::kNull) {
    json += "null";
  } else if (item.kind == Reply::Kind::kInteger || item.kind == Reply::Kind::kArray) {
    json += item.text;
  } else {
    append_json_string(json, item.text);
  }
}

}  // namespace

bool ReplyReader::add(Reply& element, Reply* out) {
  for (;;) {
    if (stack_.empty()) {
      out->kind = element.kind;
      std::swap(out->text, element.text);  // each keeps a grown buffer for the next reply
      bytes_ = 0;
      return true;
    }
    Frame& top = stack_.back();
    if (top.json.size() > 1) top.json += ',';
    append_element(top.json, element);
    bytes_ += element.text.size() + 1;
    if (--top.left > 0) return false;
    top.json += ']';
    element.kind = Reply::Kind::kArray;
    element.text = std::move(top.json);
    stack_.pop_back();
  }
}

ReplyReader::Status ReplyReader::next(std::string_view in, size_t* used, Reply* out) {
  *used = 0;
  Reply& element = element_;
  while (*used < in.size()) {
    std::string_view rest = in.substr(*used);
    size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) return rest.size() > kMaxLine ? Status::kBad : Status::kMore;
    std::string_view line = rest.substr(1, eol - 1);
    size_t head = eol + 2;
    auto number = [&](int64_t* n) {
      auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), *n);
      return ec == std::errc() && p == line.data() + line.size();
    };
    size_t length = head;
    switch (rest[0]) {
      case '+':
        element.kind = Reply::Kind::kSimple;
        element.text.assign(line);
        break;
      case '-':
      case '!':
        element.kind = Reply::Kind::kError;
        element.text.assign(line);
        break;
      case ':':
      case ',':
      case '(':
        element.kind = Reply::Kind::kInteger;
        element.text.assign(line);
        break;
      case '#':
        element.kind = Reply::Kind::kOther;
        element.text = line == "t" ? "true" : "false";
        break;
      case '_':
        element.kind = Reply::Kind::kNull;
        element.text.clear();
        break;
      case '$':
      case '=': {
        int64_t n = 0;
        if (!number(&n) || n > kMaxBulk) return Status::kBad;
        if (n < 0) {
          element.kind = Reply::Kind::kNull;
          element.text.clear();
          break;
        }
        if (bytes_ + static_cast<size_t>(n) > kMaxReplyBytes) return Status::kBad;
        length = head + static_cast<size_t>(n) + 2;
        if (rest.size() < length) return Status::kMore;  // its header is read again then: O(1)
        element.kind = Reply::Kind::kBulk;
        element.text.assign(rest.substr(head, static_cast<size_t>(n)));
        break;
      }
      case '*':
      case '~':
      case '>':
      case '%': {
        int64_t n = 0;
        if (!number(&n) || n > kMaxElements) return Status::kBad;
        *used += head;
        if (n < 0) {
          element.kind = Reply::Kind::kNull;
          element.text.clear();
        } else if (n == 0) {
          element.kind = Reply::Kind::kArray;
          element.text = "[]";
        } else {
          if (stack_.size() >= kMaxDepth) return Status::kBad;
          stack_.push_back(Frame{rest[0] == '%' ? 2 * n : n, "["});
          continue;
        }
        if (add(element, out)) return Status::kReply;
        continue;
      }
      default:
        return Status::kBad;
    }
    *used += length;
    if (bytes_ + element.text.size() > kMaxReplyBytes) return Status::kBad;
    if (add(element, out)) return Status::kReply;
  }
  return Status::kMore;
}

size_t parse_reply(std::string_view in, Reply* out) {
  ReplyReader reader;
  size_t used = 0;
  switch (reader.next(in, &used, out)) {
    case ReplyReader::Status::kReply:
      return used;
    case ReplyReader::Status::kMore:
      return 0;
    case ReplyReader::Status::kBad:
      break;
  }
  return SIZE_MAX;
}

}  // namespace spiker::redis
