// libFuzzer: the HdrHistogram V2 decoder (results' "latency_hist"), plain and compressed. What
// it accepts must encode and decode back to the same counts.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "metrics/histogram_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    spiker::metrics::Histogram h = spiker::metrics::decode_v2(bytes);
    spiker::metrics::Histogram again =
        spiker::metrics::decode_v2(spiker::metrics::encode_v2_compressed(h));
    if (again.total_count() != h.total_count()) std::abort();
    (void)h.value_at_percentile(99.9);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
