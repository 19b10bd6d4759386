#include "proto/payload.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace spiker::proto {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string decode_escapes(std::string_view text, std::string_view where) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= text.size()) {
      throw SetupError(
          fmt::format("{}: the payload ends with a lone '\\'; write \\\\ for one", where));
    }
    char e = text[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case '0':
        out += '\0';
        break;
      case '\\':
        out += '\\';
        break;
      case 'x': {
        int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
        int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          throw SetupError(fmt::format("{}: \\x needs two hex digits (e.g. \\x0a)", where));
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        throw SetupError(fmt::format(
            "{}: unknown escape '\\{}' in the payload; use \\n \\r \\t \\0 \\\\ or \\xHH", where,
            e));
    }
  }
  return out;
}

std::string decode_hex(std::string_view text, std::string_view where) {
  std::string out;
  int pending = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == ':') continue;
    if (c == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X') &&
        pending < 0) {
      ++i;
      continue;
    }
    int v = hex_value(c);
    if (v < 0) {
      throw SetupError(
          fmt::format("{}: '{}' is not a hex digit (expected e.g. \"48 45 4c 4c 4f\")", where, c));
    }
    if (pending < 0) {
      pending = v;
    } else {
      out += static_cast<char>(pending * 16 + v);
      pending = -1;
    }
  }
  if (pending >= 0) throw SetupError(fmt::format("{}: odd number of hex digits", where));
  if (out.empty()) throw SetupError(fmt::format("{}: no bytes given", where));
  return out;
}

const Option* find_option(const RequestInput& in, std::string_view key) {
  const Option* found = nullptr;
  for (const Option& o : in.options) {
    if (o.key != key) continue;
    if (found != nullptr) {
      throw SetupError(
          fmt::format("{}: {} takes one value (given again at {})", found->where, key, o.where));
    }
    found = &o;
  }
  return found;
}

std::vector<const Option*> find_all(const RequestInput& in, std::string_view key) {
  std::vector<const Option*> out;
  for (const Option& o : in.options) {
    if (o.key == key) out.push_back(&o);
  }
  return out;
}

bool bool_option(const Option& o) {
  if (o.value == "true" || o.value == "1" || o.value == "yes") return true;
  if (o.value == "false" || o.value == "0" || o.value == "no") return false;
  throw SetupError(fmt::format("{}: {} is true or false (got '{}')", o.where, o.key, o.value));
}

uint64_t positive_option(const Option& o) {
  uint64_t n = 0;
  bool ok = !o.value.empty() && o.value.size() <= 12;
  for (char c : o.value) {
    if (!std::isdigit(static_cast<unsigned char>(c))) ok = false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || n == 0) {
    throw SetupError(fmt::format("{}: {} must be a whole number of bytes, 1 or more (got '{}')",
                                 o.where, o.key, o.value));
  }
  return n;
}

void read_payload(const RequestInput& in, std::string_view hex_key, plan::ProtocolRequest& r) {
  const Option* hex = find_option(in, hex_key);
  if (hex != nullptr && in.payload_given) {
    throw SetupError(fmt::format("{}: give the payload as text (body / -b) or as {}, not both",
                                 hex->where, hex_key));
  }
  if (hex != nullptr) {
    r.payload = decode_hex(hex->value, hex->where + " " + std::string(hex_key));
    r.payload_literal = true;
    return;
  }
  r.payload = in.escapes ? decode_escapes(in.payload, in.where) : in.payload;
  r.payload_literal = false;
}

void reject_unknown(const RequestInput& in, const std::vector<std::string>& known) {
  for (const Option& o : in.options) {
    if (std::find(known.begin(), known.end(), o.key) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      throw SetupError(fmt::format("{}: {} does not apply here{}", o.where, o.key,
                                   list.empty() ? "" : " (it takes " + list + ")"));
    }
  }
}

}  // namespace spiker::proto
