#include "protocols/grpc/wire.h"

#include <zlib.h>

#include <algorithm>

namespace spiker::grpc {

namespace {
constexpr std::string_view kNames[kStatusCount] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};
constexpr uint64_t kMaxMessage = 64u << 20;  // a length past this is a broken stream
}  // namespace

std::string_view status_name(int code) {
  return code >= 0 && code < kStatusCount ? kNames[code] : kNames[2];
}

int status_from_http(int http_status) {
  switch (http_status) {
    case 400:
      return 13;  // INTERNAL
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 12;  // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;  // UNAVAILABLE
    default:
      return 2;  // UNKNOWN
  }
}

void frame(std::string_view message, bool compressed, std::string* out) {
  auto n = static_cast<uint32_t>(message.size());
  char head[5] = {static_cast<char>(compressed ? 1 : 0), static_cast<char>(n >> 24),
                  static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(head, 5);
  out->append(message);
}

bool unframe(std::string_view body, std::vector<Frame>* out) {
  out->clear();
  while (!body.empty()) {
    if (body.size() < 5) return false;
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(body[i])); };
    uint32_t n = b(1) << 24 | b(2) << 16 | b(3) << 8 | b(4);
    if (n > kMaxMessage || body.size() - 5 < n) return false;
    out->push_back({body[0] != 0, body.substr(5, n)});
    body.remove_prefix(5 + static_cast<size_t>(n));
  }
  return true;
}

uint32_t FrameCounter::feed(std::string_view piece) noexcept {
  uint32_t done = 0;
  while (!piece.empty()) {
    if (need_ > 0) {
      uint64_t take = std::min<uint64_t>(need_, piece.size());
      need_ -= take;
      piece.remove_prefix(static_cast<size_t>(take));
      if (need_ == 0) {
        ++done;
        have_ = 0;
      }
      continue;
    }
    head_[have_++] = static_cast<uint8_t>(piece.front());
    piece.remove_prefix(1);
    if (have_ < 5) continue;
    need_ = static_cast<uint64_t>(head_[1]) << 24 | head_[2] << 16 | head_[3] << 8 | head_[4];
    if (need_ == 0) {  // an empty message
      ++done;
      have_ = 0;
    }
  }
  return done;
}

std::string timeout_header(int64_t ns) {
  // The smallest unit that keeps the value within 8 digits, rounded up (never a shorter
  // deadline than asked).
  struct Unit {
    int64_t ns;
    char c;
  };
  for (Unit u : {Unit{1'000'000, 'm'}, Unit{1'000'000'000, 'S'}, Unit{60'000'000'000, 'M'},
                 Unit{3'600'000'000'000, 'H'}}) {
    int64_t v = (ns + u.ns - 1) / u.ns;
    if (v < 100'000'000) return std::to_string(v) + u.c;
  }
  return "99999999H";
}

bool gunzip(std::string_view in, size_t limit, std::string* out) {
  out->clear();
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return false;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out->append(buf, sizeof buf - z.avail_out);
    if (out->size() > limit || (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0)) {
      rc = Z_DATA_ERROR;
      break;
    }
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END;
}

bool gzip(std::string_view in, std::string* out) {
  out->clear();
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return false;
  }
  out->resize(deflateBound(&z, static_cast<uLong>(in.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(out->size());
  int rc = deflate(&z, Z_FINISH);
  out->resize(out->size() - z.avail_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END;
}

void put_string_field(uint32_t field, std::string_view value, std::string* out) {
  auto varint = [&](uint64_t v) {
    while (v >= 0x80) {
      out->push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out->push_back(static_cast<char>(v));
  };
  varint(static_cast<uint64_t>(field) << 3 | 2);
  varint(value.size());
  out->append(value);
}

bool read_fields(std::string_view m, std::vector<Field>* out) {
  out->clear();
  size_t i = 0;
  auto varint = [&](uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= m.size()) return false;
      auto b = static_cast<uint8_t>(m[i++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  while (i < m.size()) {
    uint64_t key = 0;
    if (!varint(&key)) return false;
    Field f;
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire_type = static_cast<uint32_t>(key & 7);
    switch (f.wire_type) {
      case 0:
        if (!varint(&f.varint)) return false;
        break;
      case 1:
        if (m.size() - i < 8) return false;
        i += 8;
        break;
      case 2: {
        uint64_t n = 0;
        if (!varint(&n) || m.size() - i < n) return false;
        f.bytes = m.substr(i, static_cast<size_t>(n));
        i += static_cast<size_t>(n);
        break;
      }
      case 5:
        if (m.size() - i < 4) return false;
        i += 4;
        break;
      default:
        return false;
    }
    out->push_back(f);
  }
  return true;
}

}  // namespace spiker::grpc
