#include "report/merge.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "core/json.h"
#include "proto/protocol.h"
#include "report/json_result.h"

namespace spiker::report {
namespace {

// The stat blocks (websocket, http2, ...) exist once their protocols are registered.
const bool kRegistered = (proto::register_protocols(), true);

// A result whose latency histogram holds `values` (one request each), of the given segment
// ("" for the whole test), run from `start_ms` for 2 s.
std::string result_of(const std::vector<int64_t>& values, int failed,
                      const std::string& segment = "", int64_t start_ms = 1'800'000'000'000) {
  static metrics::Shard totals;
  static std::vector<metrics::TimelinePoint> timeline;
  totals.reset();
  timeline.assign(1, {});
  for (int64_t v : values) totals.latency_us.record(v);
  totals.requests = values.size();
  totals.failed = static_cast<uint64_t>(failed);
  totals.status[200] = values.size() - static_cast<uint64_t>(failed);
  totals.status[503] = static_cast<uint64_t>(failed);
  timeline[0].requests = values.size();
  RunReport r;
  r.totals = &totals;
  r.timeline = &timeline;
  r.measured_s = 2;
  r.elapsed_s = 2;
  r.info.segment = segment;
  r.started_unix_ms = start_ms;
  r.ended_unix_ms = start_ms + 2000;
  return to_json(r);
}

TEST(Merge, PercentilesEqualThoseOfAllRequestsAndCountsAddUp) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(7, 1.2);  // ~1 ms median, long tail
  metrics::Histogram all;
  std::vector<std::string> texts, names;
  for (int seg = 0; seg < 3; ++seg) {
    std::vector<int64_t> values;
    for (int i = 0; i < 5000 + seg * 1000; ++i) {
      values.push_back(static_cast<int64_t>(d(rng)) + seg * 100);
      all.record(values.back());
    }
    texts.push_back(result_of(values, seg, fmt::format("{}/3:{}/3", seg, seg + 1)));
    names.push_back("seg" + std::to_string(seg));
  }
  Merged m = merge_results(texts, names);
  auto doc = nlohmann::json::parse(m.json);
  EXPECT_EQ(doc["summary"]["total_requests"], 18000);
  EXPECT_EQ(doc["summary"]["failed"], 3);
  EXPECT_EQ(doc["status_codes"]["200"], 17997);
  EXPECT_EQ(doc["status_codes"]["503"], 3);
  for (auto [key, p] : {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p999", 99.9}}) {
    EXPECT_EQ(doc["latency_us"][key], all.value_at_percentile(p)) << key;
  }
  EXPECT_EQ(doc["latency_us"]["max"], all.max());
  EXPECT_EQ(doc["latency_us"]["min"], all.min());
  EXPECT_EQ(doc["timeline"][0]["requests"], 18000);
  // The segments ran side by side for 2 s each: 18,000 requests in 2 s.
  EXPECT_DOUBLE_EQ(doc["summary"]["requests_per_sec"], 9000);
}

TEST(Merge, SpansEarliestStartToLatestEndAndRefusesOverlaps) {
  std::vector<int64_t> v(1000, 500);
  int64_t t0 = 1'800'000'000'000;
  // The second segment started 500 ms later: the test ran 2.5 s, not 2 s.
  Merged m = merge_results({result_of(v, 0, "1/2:1", t0 + 500), result_of(v, 0, "0:1/2", t0)},
                           {"b.json", "a.json"});
  auto doc = nlohmann::json::parse(m.json);
  EXPECT_EQ(doc["metadata"]["started_at"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(doc["metadata"]["ended_at"], "2027-01-15T08:00:02.500Z");
  EXPECT_DOUBLE_EQ(doc["summary"]["elapsed_secs"], 2.5);
  EXPECT_EQ(doc["metadata"]["duration_secs"], 3);             // 2.5 rounded, as Kaioken's integer
  EXPECT_DOUBLE_EQ(doc["summary"]["requests_per_sec"], 800);  // 2,000 in 2.5 s
  // The same segment twice, overlapping segments, the same result twice: refused by name.
  auto refused = [&](const std::vector<std::string>& texts, const char* word) {
    try {
      merge_results(texts, {"x.json", "y.json"});
      ADD_FAILURE() << "accepted";
    } catch (const SetupError& e) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  };
  refused({result_of(v, 0, "0:1/2", t0), result_of(v, 0, "0:1/2", t0 + 1)}, "overlap");
  refused({result_of(v, 0, "0:2/3", t0), result_of(v, 0, "1/3:1", t0)}, "overlap");
  std::string same = result_of(v, 0, "", t0);
  refused({same, same}, "same result");
  // Whole tests from two machines (no segments) still merge.
  EXPECT_NO_THROW(
      merge_results({result_of(v, 0, "", t0), result_of(v, 1, "", t0 + 7)}, {"x.json", "y.json"}));
}

TEST(Merge, WebSocketAndHttp2SectionsAddUp) {
  static metrics::Shard totals;
  static std::vector<metrics::TimelinePoint> timeline;
  std::vector<std::string> texts, names;
  for (int seg = 0; seg < 2; ++seg) {
    totals.reset();
    timeline.assign(1, {});
    for (int i = 0; i < 100; ++i) totals.latency_us.record(1000 + seg * 1000);
    totals.requests = 100;
    // Through the registered blocks, by name: the report knows no protocol's fields.
    auto count = [&](const char* block, const char* counter, uint64_t n) {
      const metrics::StatBlock* b = metrics::StatBlocks::find(block);
      ASSERT_NE(b, nullptr);
      ASSERT_GE(b->counter_index(counter), 0) << counter;
      totals.add(b->counter(static_cast<size_t>(b->counter_index(counter))), n);
    };
    count("websocket", "messages_sent", 100);
    count("websocket", "messages_received", 100);
    count("websocket", "bytes_sent", 400);
    count("websocket", "established", 10);
    count("websocket", "disconnects", static_cast<uint64_t>(seg));
    count("websocket", "protocol_errors", 2);
    count("http2", "goaways", 3);
    RunReport r;
    r.totals = &totals;
    r.timeline = &timeline;
    r.measured_s = r.elapsed_s = 2;
    r.info.websocket = true;
    r.info.protocol = "h2c";  // both sections, to check both merges
    r.info.block_facts["websocket"] = {{"mode", "echo"}, {"message_interval_ms", "100"}};
    r.info.block_facts["http2"] = {{"protocol", "h2c"}, {"max_streams", "1"}};
    texts.push_back(to_json(r));
    names.push_back("seg" + std::to_string(seg));
  }
  auto doc = nlohmann::json::parse(merge_results(texts, names).json);
  const auto& ws = doc["websocket"];
  EXPECT_EQ(ws["messages_sent"], 200);
  EXPECT_EQ(ws["bytes_sent"], 800);
  EXPECT_EQ(ws["connections_established"], 20);
  EXPECT_EQ(ws["connections_active"], 19);  // 10 + 9: one segment lost one
  EXPECT_EQ(ws["errors"]["protocol"], 4);
  EXPECT_DOUBLE_EQ(ws["error_rate"], 0.02);
  EXPECT_DOUBLE_EQ(ws["messages_per_sec"], 100);
  EXPECT_EQ(ws["latency_us"]["count"], 200);
  EXPECT_FALSE(ws.contains("handshake_time_us"));
  EXPECT_EQ(doc["http2"]["goaways"], 6);
  EXPECT_EQ(doc["http2"]["protocol"], "h2c");
  EXPECT_EQ(ws["mode"], "echo");
}

TEST(Merge, RefusesOtherShapes) {
  EXPECT_THROW(merge_results({"{}", "{}"}, {"a", "b"}), SetupError);
  EXPECT_THROW(merge_results({result_of({1}, 0)}, {"a"}), SetupError);
}

TEST(Merge, ResultsMissingPartsAreNamedNotCrashedOn) {
  std::string whole = result_of({1, 2, 3}, 0);
  const std::pair<const char*, const char*> cuts[] = {
      {"/metadata", "load"}, {"", "metadata"}, {"/histograms", "latency_us"}};
  for (const auto& [parent, key] : cuts) {
    nlohmann::json d = nlohmann::json::parse(whole);
    d[nlohmann::json::json_pointer(parent)].erase(key);
    try {
      merge_results({whole, d.dump()}, {"a.json", "b.json"});
      ADD_FAILURE() << "merged a result without " << parent << "/" << key;
    } catch (const SetupError& e) {
      EXPECT_NE(std::string(e.what()).find("b.json"), std::string::npos) << e.what();
    }
  }
}

TEST(Compare, RegressionsByThresholdAndModelMismatch) {
  std::string base = result_of(std::vector<int64_t>(1000, 1000), 0);
  std::string slow = result_of(std::vector<int64_t>(1000, 1200), 0);
  Comparison same = compare_results(base, base, "a", "a", {});
  EXPECT_FALSE(same.regressed);
  Comparison worse = compare_results(base, slow, "a", "b", {});
  EXPECT_TRUE(worse.regressed);  // p99 +20% > 10%
  auto doc = nlohmann::json::parse(worse.json);
  EXPECT_TRUE(doc["has_regressions"]);
  EXPECT_EQ(doc["regressions"][0]["metric"], "latency_p99");
  CompareOptions loose;
  loose.p99_pct = 25;
  loose.p999_pct = 25;
  EXPECT_FALSE(compare_results(base, slow, "a", "b", loose).regressed);
  auto open = nlohmann::json::parse(slow);
  open["metadata"]["load"]["load_model"] = "open";
  Comparison mixed = compare_results(base, open.dump(), "a", "b", {});
  EXPECT_TRUE(mixed.model_mismatch);
  CompareOptions force;
  force.force = true;
  EXPECT_FALSE(compare_results(base, open.dump(), "a", "b", force).model_mismatch);
}

}  // namespace
}  // namespace spiker::report
