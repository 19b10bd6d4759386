// The http2 stat block (metrics/stat_block.h): GOAWAYs, streams reset, requests sent again.
#pragma once

#include <cstdint>

#include "metrics/shard.h"
#include "metrics/stat_block.h"

namespace spiker::http2 {

enum Counter : uint32_t {
  kGoaways,           // GOAWAY frames received
  kRstStreams,        // streams the server reset (failed requests)
  kRetried,           // requests refused unprocessed and sent again
  kConnectionErrors,  // connections that broke the protocol while the server kept TCP open
  kRefused,           // requests the server refused again (GOAWAY) after their one retry
};

const metrics::StatBlock& stats();

// Registers the HTTP/2 protocol (its shared session; client.cc).
void register_protocol();

inline void count(metrics::Shard& s, Counter c, uint64_t n = 1) { s.add(stats().counter(c), n); }

}  // namespace spiker::http2
