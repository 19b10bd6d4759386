// HdrHistogram's V2 serialization (and its zlib-compressed form, the payload of .hlog lines), so
// that tools reading HdrHistogram logs read ours.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base64.h"
#include "metrics/histogram.h"

namespace spiker::metrics {

// V2 encoding: a 40-byte big-endian header (cookie 0x1c849313, payload length, normalizing
// offset, significant digits, lowest, highest, conversion ratio) then counts as ZigZag LEB128,
// runs of zeros as one negative number.
std::string encode_v2(const Histogram& h);
// V2 compressed: cookie 0x1c849314, compressed length, then zlib deflate of encode_v2().
std::string encode_v2_compressed(const Histogram& h);
// Decodes either form; throws std::runtime_error on malformed input.
Histogram decode_v2(std::string_view bytes);

using spiker::base64_decode;
using spiker::base64_encode;

}  // namespace spiker::metrics
