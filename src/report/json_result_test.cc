#include "report/json_result.h"

#include <gtest/gtest.h>

#include "core/json.h"
#include "metrics/histogram_codec.h"

namespace spiker::report {
namespace {

TEST(JsonResult, WritesKaiokenFieldsAndRedactsSecrets) {
  metrics::Shard totals;
  for (int i = 1; i <= 100; ++i) totals.latency_us.record(i * 10);
  totals.requests = 104;
  totals.responses = 100;
  totals.failed = 6;
  totals.status[200] = 98;
  totals.status[500] = 2;
  totals.errors[static_cast<size_t>(metrics::ErrorKind::kTimeout)] = 4;
  totals.bytes_received = 12345;
  std::vector<metrics::TimelinePoint> timeline(2);
  timeline[0].requests = 50;
  timeline[0].errors = 3;
  timeline[1].elapsed_secs = 1;
  timeline[1].requests = 54;
  timeline[1].errors = 3;
  RunReport r;
  r.info.url = "http://127.0.0.1:1/";
  r.info.headers = {{"Authorization", "Bearer abc"}, {"X-Auth-Token", "t"}, {"Accept", "a"}};
  r.info.concurrency = 5;
  r.totals = &totals;
  r.timeline = &timeline;
  r.elapsed_s = 2.0;
  r.measured_s = 2.0;
  r.started_unix_ms = 1'700'000'000'123;
  r.ended_unix_ms = 1'700'000'002'123;
  auto j = nlohmann::json::parse(to_json(r));
  EXPECT_EQ(j["metadata"]["tool"], "loadspiker");
  EXPECT_EQ(j["metadata"]["started_at"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["metadata"]["duration_secs"], 2);
  EXPECT_EQ(j["metadata"]["target"]["headers"][0], "Authorization: <redacted>");
  EXPECT_EQ(j["metadata"]["target"]["headers"][1], "X-Auth-Token: <redacted>");
  EXPECT_EQ(j["metadata"]["target"]["headers"][2], "Accept: a");
  EXPECT_EQ(j["metadata"]["load"]["load_model"], "closed");
  EXPECT_EQ(j["summary"]["total_requests"], 104);
  EXPECT_EQ(j["summary"]["successful"], 98);
  EXPECT_EQ(j["summary"]["failed"], 6);
  EXPECT_DOUBLE_EQ(j["summary"]["error_rate"].get<double>(), 6.0 / 104);
  EXPECT_DOUBLE_EQ(j["summary"]["requests_per_sec"].get<double>(), 52.0);
  EXPECT_EQ(j["latency_us"]["p50"], 500);
  EXPECT_EQ(j["latency_us"]["p99"], 990);
  EXPECT_EQ(j["latency_us"]["min"], 10);
  EXPECT_EQ(j["latency_us"]["max"], 1000);
  EXPECT_EQ(j["status_codes"]["500"], 2);
  EXPECT_EQ(j["errors"]["timeout"], 4);
  EXPECT_FALSE(j["errors"].contains("reset"));
  EXPECT_EQ(j["timeline"][1]["errors"], 3);
  auto h =
      metrics::decode_v2(metrics::base64_decode(j["histograms"]["latency_us"].get<std::string>()));
  EXPECT_EQ(h.total_count(), 100);
  EXPECT_EQ(to_json(r).find("Bearer"), std::string::npos);
  EXPECT_FALSE(j.contains("corrected_latency_us"));  // closed, unpaced: not applicable
  EXPECT_FALSE(j["summary"].contains("arrival_rate"));
}

TEST(JsonResult, OpenModelReportsArrivalsAndCorrectedLatency) {
  metrics::Shard totals;
  for (int i = 0; i < 100; ++i) {
    totals.latency_us.record(1000);
    totals.corrected_us.record(i < 90 ? 1000 : 900'000);
    totals.queue_us.record(i < 90 ? 0 : 899'000);
  }
  totals.requests = 100;
  totals.dropped_iterations = 20;
  std::vector<metrics::TimelinePoint> timeline(11);
  for (int i = 0; i < 11; ++i) {
    timeline[i].elapsed_secs = i;
    timeline[i].requests = i < 9 ? 10 : (i == 9 ? 8 : 2);  // the last second is partial
  }
  RunReport r;
  r.info.open_model = true;
  r.info.executor = "constant-arrival-rate";
  r.info.arrival_rate = 12;
  r.info.max_vus = 7;
  r.info.target_iterations = 120;
  r.info.duration_secs = 10;
  r.info.has_intended_times = true;
  r.totals = &totals;
  r.timeline = &timeline;
  r.elapsed_s = r.measured_s = 10.2;
  auto j = nlohmann::json::parse(to_json(r));
  EXPECT_EQ(j["metadata"]["load"]["load_model"], "open");
  EXPECT_EQ(j["metadata"]["load"]["arrival_rate"], 12);
  EXPECT_EQ(j["metadata"]["load"]["max_vus"], 7);
  auto a = j["summary"]["arrival_rate"];
  EXPECT_TRUE(a["target_rps"].is_number_integer());  // Kaioken's u32
  EXPECT_EQ(a["target_rps"], 12);
  EXPECT_TRUE(j["metadata"]["load"]["rate"].is_number_integer());
  EXPECT_TRUE(j["metadata"]["load"]["ramp_up_secs"].is_number_integer());
  // Kaioken's achieved_rps: the last whole second (second 9: 8), over a 1 s window; ours over
  // the run beside it.
  EXPECT_DOUBLE_EQ(a["achieved_rps"].get<double>(), 8.0);
  EXPECT_EQ(a["achieved_rps_window_secs"], 1);
  EXPECT_DOUBLE_EQ(a["achieved_rps_overall"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(j["timeline"][10]["partial_secs"].get<double>(), 0.2);
  EXPECT_FALSE(j["timeline"][9].contains("partial_secs"));
  EXPECT_EQ(a["dropped_iterations"], 20);
  EXPECT_EQ(a["max_vus"], 7);
  EXPECT_EQ(j["latency_us"]["p99"], 1000);
  EXPECT_GE(j["corrected_latency_us"]["p99"].get<int64_t>(), 899'000);
  EXPECT_EQ(j["corrected_latency_us"]["p50"], 1000);
  EXPECT_GE(j["queue_time_us"]["p99"].get<int64_t>(), 898'000);
}

}  // namespace
}  // namespace spiker::report
