// Fuzzes gRPC's wire pieces a client reads: length-prefixed messages (whole and fed in pieces,
// as DATA frames arrive), gzip bodies (inflated under a bound), and protobuf fields as the
// reflection client reads them. Refusals are fine; crashes, hangs and huge allocations are not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/grpc/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spiker::grpc;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<Frame> frames;
  if (unframe(in, &frames)) {
    for (const Frame& f : frames) {
      std::string out;
      if (f.compressed) gunzip(f.bytes, 1 << 20, &out);
      std::vector<Field> fields;
      read_fields(out.empty() ? f.bytes : out, &fields);
    }
  }
  FrameCounter counter;  // the same bytes in pieces of 1, 7, 13, ... bytes
  size_t step = 1;
  for (size_t at = 0; at < in.size(); at += step, step = step * 2 + 5) {
    counter.feed(in.substr(at, step));
  }
  std::string out;
  gunzip(in, 1 << 20, &out);
  return 0;
}
