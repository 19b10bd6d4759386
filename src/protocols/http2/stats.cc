#include "protocols/http2/stats.h"

#include "core/json.h"

namespace spiker::http2 {
namespace {

const metrics::StatBlock* g_block = nullptr;

std::string section(const metrics::StatSectionInput& in) {
  nlohmann::json doc = nlohmann::json::object();
  std::string max_streams;
  if (in.facts != nullptr) {
    for (const auto& [k, v] : *in.facts) {
      if (k == "max_streams") {
        doc[k] = std::stoll(v);
      } else {
        doc[k] = v;
      }
    }
  }
  doc["goaways"] = in.counters[kGoaways];
  doc["rst_streams"] = in.counters[kRstStreams];
  doc["retried"] = in.counters[kRetried];
  doc["connection_errors"] = in.counters[kConnectionErrors];
  doc["refused"] = in.counters[kRefused];
  return doc.dump();
}

}  // namespace

const metrics::StatBlock& stats() { return *g_block; }

}  // namespace spiker::http2

void spiker_register_http2() {
  using namespace spiker;
  metrics::StatBlockDef d;
  d.name = "http2";
  d.title = "HTTP/2";
  d.counters = {"goaways", "rst_streams", "retried", "connection_errors", "refused"};
  d.section = http2::section;
  http2::g_block = &metrics::StatBlocks::add(std::move(d));
  http2::register_protocol();
}
