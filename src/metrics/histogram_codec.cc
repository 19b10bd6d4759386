#include "metrics/histogram_codec.h"

#include <zlib.h>

#include <cstring>
#include <stdexcept>

namespace spiker::metrics {
namespace {

constexpr uint32_t kV2Cookie = 0x1c849303 | 0x10;
constexpr uint32_t kV2CompressedCookie = 0x1c849304 | 0x10;
constexpr size_t kHeaderSize = 40;

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_be(std::string_view in, size_t at, int bytes) {
  if (at + static_cast<size_t>(bytes) > in.size())
    throw std::runtime_error("hdr: truncated header");
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

void put_zigzag(std::string& out, int64_t value) {
  uint64_t v = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if ((v >> 7) == 0) {
      out.push_back(static_cast<char>(v));
      return;
    }
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));  // the 9th byte carries 8 bits
}

int64_t get_zigzag(std::string_view in, size_t& at) {
  uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= in.size()) throw std::runtime_error("hdr: truncated counts");
    uint64_t b = static_cast<uint8_t>(in[at++]);
    if (i == 8) {
      v |= b << 56;
      break;
    }
    v |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) break;
  }
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

}  // namespace

std::string encode_v2(const Histogram& h) {
  std::string counts;
  int32_t limit = h.total_count() == 0 ? 0 : h.index_of(h.max()) + 1;
  for (int32_t i = 0; i < limit;) {
    int64_t c = h.count_at_index(i++);
    if (c == 0) {
      int64_t zeros = 1;
      while (i < limit && h.count_at_index(i) == 0) ++zeros, ++i;
      put_zigzag(counts, zeros > 1 ? -zeros : 0);
    } else {
      put_zigzag(counts, c);
    }
  }
  std::string out;
  put_be(out, kV2Cookie, 4);
  put_be(out, counts.size(), 4);
  put_be(out, 0, 4);  // normalizing index offset
  put_be(out, static_cast<uint64_t>(h.significant_digits()), 4);
  put_be(out, static_cast<uint64_t>(h.lowest_trackable()), 8);
  put_be(out, static_cast<uint64_t>(h.highest_trackable()), 8);
  double ratio = 1.0;
  uint64_t ratio_bits;
  std::memcpy(&ratio_bits, &ratio, 8);
  put_be(out, ratio_bits, 8);
  return out + counts;
}

std::string encode_v2_compressed(const Histogram& h) {
  std::string raw = encode_v2(h);
  uLongf len = compressBound(raw.size());
  std::string z(len, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &len,
                reinterpret_cast<const Bytef*>(raw.data()), raw.size(),
                Z_DEFAULT_COMPRESSION) != Z_OK) {
    throw std::runtime_error("hdr: zlib compression failed");
  }
  z.resize(len);
  std::string out;
  put_be(out, kV2CompressedCookie, 4);
  put_be(out, z.size(), 4);
  return out + z;
}

Histogram decode_v2(std::string_view bytes) {
  uint32_t cookie = static_cast<uint32_t>(get_be(bytes, 0, 4));
  if (cookie == kV2CompressedCookie) {
    size_t zlen = get_be(bytes, 4, 4);
    if (8 + zlen > bytes.size()) throw std::runtime_error("hdr: truncated compressed payload");
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) throw std::runtime_error("hdr: zlib init failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + 8));
    zs.avail_in = static_cast<uInt>(zlen);
    std::string raw;
    char chunk[16384];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      zs.next_out = reinterpret_cast<Bytef*>(chunk);
      zs.avail_out = sizeof chunk;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        inflateEnd(&zs);
        throw std::runtime_error("hdr: corrupt compressed payload");
      }
      raw.append(chunk, sizeof chunk - zs.avail_out);
      if (raw.size() > (64u << 20)) {
        inflateEnd(&zs);
        throw std::runtime_error("hdr: payload too large");
      }
    }
    inflateEnd(&zs);
    return decode_v2(raw);
  }
  if (cookie != kV2Cookie) throw std::runtime_error("hdr: not a V2 histogram encoding");
  size_t payload = get_be(bytes, 4, 4);
  auto digits = static_cast<int>(get_be(bytes, 12, 4));
  auto lowest = static_cast<int64_t>(get_be(bytes, 16, 8));
  auto highest = static_cast<int64_t>(get_be(bytes, 24, 8));
  if (kHeaderSize + payload > bytes.size()) throw std::runtime_error("hdr: truncated counts");
  Histogram h = [&] {
    try {
      return Histogram(lowest, highest, digits);
    } catch (const std::invalid_argument&) {
      throw std::runtime_error("hdr: a range or precision no histogram has");
    }
  }();
  std::string_view counts = bytes.substr(kHeaderSize, payload);
  size_t at = 0;
  int64_t index = 0;  // 64 bits, checked: a crafted run of zeros must not wrap it
  int64_t total = 0;
  constexpr int64_t kMaxTotal = int64_t{1} << 56;  // far beyond any run, far from overflow
  while (at < counts.size()) {
    int64_t c = get_zigzag(counts, at);
    if (c < 0) {
      if (c < -int64_t{h.counts_length()}) throw std::runtime_error("hdr: zero run out of range");
      index += -c;
      continue;
    }
    if (index >= h.counts_length()) throw std::runtime_error("hdr: count index out of range");
    if (c > kMaxTotal - total) throw std::runtime_error("hdr: counts beyond any run");
    total += c;
    h.add_at_index(static_cast<int32_t>(index++), c);
  }
  return h;
}

}  // namespace spiker::metrics
