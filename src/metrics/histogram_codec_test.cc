#include "metrics/histogram_codec.h"

#include <gtest/gtest.h>

#include <random>

namespace spiker::metrics {
namespace {

void expect_same(const Histogram& a, const Histogram& b) {
  ASSERT_EQ(a.total_count(), b.total_count());
  ASSERT_EQ(a.counts_length(), b.counts_length());
  for (int32_t i = 0; i < a.counts_length(); ++i)
    ASSERT_EQ(a.count_at_index(i), b.count_at_index(i));
  for (double p : {50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(a.value_at_percentile(p), b.value_at_percentile(p));
  }
}

TEST(HistogramCodec, RoundTripsPlainAndCompressed) {
  std::mt19937_64 rng(1);
  Histogram h;
  for (int i = 0; i < 100'000; ++i) h.record(static_cast<int64_t>(rng() % 2'000'000));
  h.record_n(3'000'000'000, 3);
  expect_same(h, decode_v2(encode_v2(h)));
  expect_same(h, decode_v2(encode_v2_compressed(h)));
  expect_same(h, decode_v2(base64_decode(base64_encode(encode_v2_compressed(h)))));
}

TEST(HistogramCodec, HeaderIsHdrHistogramV2) {
  Histogram h;
  h.record(1);
  h.record(1);
  h.record(1000);
  std::string raw = encode_v2(h);
  ASSERT_GE(raw.size(), 40u);
  EXPECT_EQ(static_cast<uint8_t>(raw[0]), 0x1c);
  EXPECT_EQ(static_cast<uint8_t>(raw[3]), 0x13);
  EXPECT_EQ(raw[15], 3);  // significant digits
  // counts: [0]=0, [1]=2, 998 zeros, [1000]=1 -> zigzag(0), zigzag(2), zigzag(-998), zigzag(1)
  std::string counts = raw.substr(40);
  EXPECT_EQ(counts, std::string("\x00\x04\xcb\x0f\x02", 5));
  std::string z = encode_v2_compressed(h);
  EXPECT_EQ(static_cast<uint8_t>(z[3]), 0x14);
}

TEST(HistogramCodec, EmptyAndBase64) {
  Histogram empty;
  expect_same(empty, decode_v2(encode_v2_compressed(empty)));
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
}

TEST(HistogramCodec, RejectsGarbage) {
  EXPECT_THROW(decode_v2("nonsense bytes here"), std::runtime_error);
  EXPECT_THROW(decode_v2(std::string("\x1c\x84\x93\x14\x00\x00\x00\x05xxxxx", 13)),
               std::runtime_error);
}

// Crafted headers and counts (what an audit fed `report` and `merge`): errors, never an
// out-of-bounds write or signed overflow (the ASan+UBSan unit build runs this).
TEST(HistogramCodec, RejectsCraftedCounts) {
  Histogram h;
  h.record(1000);
  std::string raw = encode_v2(h);
  std::string head = raw.substr(0, 40);
  auto with_counts = [&](const std::string& counts) {
    std::string out = head;
    for (int i = 0; i < 4; ++i)
      out[4 + i] = static_cast<char>((counts.size() >> (8 * (3 - i))) & 0xff);
    return out + counts;
  };
  auto zz = [](int64_t value) {  // HdrHistogram's ZigZag LEB128, as the encoder writes it
    uint64_t v = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
    std::string out;
    for (int i = 0; i < 8 && (v >> 7) != 0; ++i, v >>= 7) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    }
    out.push_back(static_cast<char>(v));
    return out;
  };
  // Zero runs that wrap a 32-bit index negative, INT64_MIN, and one past the end.
  for (int64_t run : {-(int64_t{1} << 31), INT64_MIN, -int64_t{h.counts_length()} - 5}) {
    EXPECT_THROW(decode_v2(with_counts(zz(run) + zz(1))), std::runtime_error) << run;
  }
  // Counts whose total would overflow.
  EXPECT_THROW(decode_v2(with_counts(zz(INT64_MAX) + zz(INT64_MAX))), std::runtime_error);
  // A range or precision no histogram has.
  std::string bad = raw;
  bad[15] = 9;  // significant digits
  EXPECT_THROW(decode_v2(bad), std::runtime_error);
  bad = raw;
  bad[16] = 0x40;  // lowest trackable value 2^62
  EXPECT_THROW(decode_v2(bad), std::runtime_error);
}

}  // namespace
}  // namespace spiker::metrics
