#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "config/config_file.h"
#include "core/error.h"
#include "proto/protocol.h"

namespace spiker::config {
namespace {

// Registered protocols' actions (tcp.*, udp.*) are steps too.
const bool kRegistered = (proto::register_protocols(), true);

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const SetupError& e) {
    EXPECT_EQ(e.exit_code(), 1) << e.what();
    return e.what();
  }
  return "(no error)";
}

TEST(Journey, NativeStepsRunInOrderAndVariablesAddDependencies) {
  ConfigFile c = parse_config(R"(
[defaults]
base_url = "http://127.0.0.1:8080/api"
headers = { Accept = "application/json" }
[[scenarios]]
name = "checkout"
weight = 3
think_time = "10ms"
  [[scenarios.steps]]
  name = "login"
  method = "POST"
  url = "/login"
  json = { username = "ann", n = 2 }
  extract = { token = "json:$.token" }
  checks = ["status == 200"]
  [[scenarios.steps]]
  name = "a"
  url = "/delay/300"
  depends_on = "login"
  [[scenarios.steps]]
  name = "b"
  url = "/delay/300?x=${token}"
  depends_on = []
  [[scenarios.steps]]
  name = "cart"
  url = "/cart"
  query = { q = "two words" }
  headers = { Authorization = "Bearer ${token}" }
  depends_on = ["a", "b"]
)",
                              "t.toml");
  ASSERT_TRUE(c.journey);
  const plan::Journey& j = *c.journey;
  ASSERT_EQ(j.scenarios.size(), 1u);
  const plan::Scenario& sc = j.scenarios[0];
  ASSERT_EQ(sc.steps.size(), 4u);
  EXPECT_EQ(sc.steps[0].name, "login");
  EXPECT_EQ(sc.steps[0].method, "POST");
  EXPECT_TRUE(sc.steps[0].capture_body);
  EXPECT_EQ(sc.steps[1].deps, std::vector<uint16_t>{0});
  EXPECT_EQ(sc.steps[2].deps, std::vector<uint16_t>{0});  // b: through ${token}
  EXPECT_EQ(sc.steps[3].deps, (std::vector<uint16_t>{1, 2, 0}));
  EXPECT_EQ(sc.steps[3].think.to_string(), "10ms");
  plan::RenderContext ctx;
  std::string vars[] = {"T0K"};
  ctx.vars = vars;
  std::string out;
  sc.steps[3].target.render(out, ctx);
  EXPECT_EQ(out, "/api/cart?q=two%20words");
  out.clear();
  sc.steps[0].body.render(out, ctx);
  EXPECT_EQ(out, "{\"n\":2,\"username\":\"ann\"}");
  EXPECT_EQ(j.origins.size(), 1u);
  EXPECT_EQ(j.origins[0].url.port, 8080);
}

TEST(Journey, KaiokenDependenciesRunOncePerVuBeforeTheirDependants) {
  ConfigFile c = parse_config(R"(
[target]
url = "http://127.0.0.1:9/"
[[scenarios]]
name = "login"
url = "http://127.0.0.1:9/login"
method = "POST"
weight = 0
extract = { token = "json:$.token", sid = "cookie:session" }
[[scenarios]]
name = "me"
url = "http://127.0.0.1:9/me"
headers = { Authorization = "Bearer ${token}" }
weight = 3
[[scenarios]]
name = "home"
url = "http://127.0.0.1:9/"
depends_on = "login"
)",
                              "t.toml");
  ASSERT_TRUE(c.journey);
  const plan::Journey& j = *c.journey;
  ASSERT_EQ(j.scenarios.size(), 2u);
  for (const plan::Scenario& sc : j.scenarios) {
    ASSERT_EQ(sc.steps.size(), 2u) << sc.name;
    EXPECT_EQ(sc.steps[0].name, "login");
    EXPECT_TRUE(sc.steps[0].once);
    EXPECT_EQ(sc.steps[1].deps, std::vector<uint16_t>{0});
  }
  EXPECT_EQ(j.scenarios[0].steps[0].once_key, j.scenarios[1].steps[0].once_key);
  EXPECT_EQ(j.scenarios[0].weight, 3u);
  EXPECT_EQ(j.variables, (std::vector<std::string>{"sid", "token"}));  // tables sort keys
}

TEST(Journey, ExtractionSectionMakesTheTargetEachVusLogin) {
  ConfigFile c = parse_config(R"(
[target]
url = "http://127.0.0.1:9/login"
method = "POST"
body = '{"username":"x"}'
[extraction]
token = "$.token"
[[scenarios]]
name = "me"
url = "http://127.0.0.1:9/me"
headers = { Authorization = "Bearer ${token}" }
)",
                              "t.toml");
  ASSERT_TRUE(c.journey);
  const plan::Scenario& sc = c.journey->scenarios.at(0);
  ASSERT_EQ(sc.steps.size(), 2u);
  EXPECT_EQ(sc.steps[0].name, "target");
  EXPECT_TRUE(sc.steps[0].once);
  EXPECT_EQ(sc.steps[0].method, "POST");
}

TEST(Journey, DataTablesFromCsvAndJson) {
  std::string csv = testing::TempDir() + "users.csv";
  std::ofstream(csv) << "name,password\nann,\"p,1\"\nbob,p2\n";
  std::string json = testing::TempDir() + "items.json";
  std::ofstream(json) << R"([{"sku": "a1", "qty": 2}, {"sku": "b2"}])";
  ConfigFile c = parse_config(R"(
[data.users]
file = ")" + csv + R"("
strategy = "unique"
on_exhausted = "stop-vu"
[data.items]
file = ")" + json + R"("
[[scenarios]]
name = "s"
  [[scenarios.steps]]
  url = "http://127.0.0.1:9/u/${users.name}?sku=${items.sku}&q=${items.qty}"
)",
                              "t.toml");
  const plan::Journey& j = *c.journey;
  ASSERT_EQ(j.data.size(), 2u);
  ASSERT_EQ(j.data[1].name, "users");  // [data] tables in name order
  std::swap(const_cast<plan::Journey&>(j).data[0], const_cast<plan::Journey&>(j).data[1]);
  EXPECT_EQ(j.data[0].rows(), 2u);
  EXPECT_EQ(j.data[0].cell(0, 1), "p,1");
  EXPECT_EQ(j.data[0].strategy, plan::Strategy::kUnique);
  EXPECT_FALSE(j.data[0].stop_run_when_exhausted);
  EXPECT_EQ(j.data[1].columns, (std::vector<std::string>{"qty", "sku"}));
  EXPECT_EQ(j.data[1].cell(1, 0), "");
  EXPECT_EQ(j.scenarios[0].tables_used, 3u);
  EXPECT_NE(error_of("[data.u]\nfile = \"/nonexistent.csv\"\n").find("cannot read"),
            std::string::npos);
  EXPECT_NE(error_of("[data.u]\nfile = \"" + csv + "\"\nstrategy = \"shuffle\"\n")
                .find("use sequential, circular"),
            std::string::npos);
}

TEST(Journey, MistakesAreNamedWithTheirPlace) {
  std::string head = "[[scenarios]]\nname = \"s\"\n";
  EXPECT_NE(error_of(head + "  [[scenarios.steps]]\n  url = \"http://h/\"\n  metod = \"GET\"\n")
                .find("t.toml:5:3: unknown key 'metod' in [[scenarios.steps]]; did you mean "
                      "'method'?"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  [[scenarios.steps]]\n  url = \"http://h/${tokn}\"\n")
                .find("unknown variable ${tokn}"),
            std::string::npos);
  std::string cycle = head +
                      "  [[scenarios.steps]]\n  name = \"a\"\n  url = \"http://h/\"\n"
                      "  depends_on = \"b\"\n"
                      "  [[scenarios.steps]]\n  name = \"b\"\n  url = \"http://h/\"\n"
                      "  depends_on = \"a\"\n";
  EXPECT_NE(error_of(cycle).find("dependency cycle: a -> b -> a"), std::string::npos);
  EXPECT_NE(error_of(head + "  [[scenarios.steps]]\n  url = \"/x\"\n").find("base_url"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  [[scenarios.steps]]\n  url = \"http://h/\"\n  depends_on = \"z\"\n")
                .find("depends_on 'z'"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  [[scenarios.steps]]\n  url = \"http://h/\"\n"
                            "  extract = { t = \"xml:/a\" }\n")
                .find("cannot extract 'xml:/a'"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  [[scenarios.steps]]\n  url = \"http://h/\"\n"
                            "  checks = [\"status = 200\"]\n")
                .find("cannot read the check"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  [[scenarios.steps]]\n  url = \"http://h/\"\n  if = \"maybe\"\n")
                .find("cannot read if"),
            std::string::npos);
  EXPECT_NE(error_of("[defaults]\nbase_url = \"http://h\"\ncookie_jr = true\n")
                .find("did you mean 'cookie_jar'"),
            std::string::npos);
}

TEST(Journey, RegisteredProtocolStepsKeepTheirHostAndKeys) {
  ConfigFile c = parse_config(R"(
[[scenarios]]
name = "raw"
  [[scenarios.steps]]
  name = "send"
  action = "tcp.send"
  url = "tcp://127.0.0.1:9000"
  body = "HELLO ${VU_ID}\n"
  [[scenarios.steps]]
  name = "recv"
  action = "tcp.receive"
  until = "\n"
  match = 'body contains "HELLO"'
  extract = { who = "regex:HELLO (.*):1" }
  [[scenarios.steps]]
  name = "dgram"
  action = "udp.send"
  url = "udp://127.0.0.1:9001"
  payload_hex = "00 ff"
)",
                              "t.toml");
  ASSERT_TRUE(c.journey);
  const plan::Journey& j = *c.journey;
  ASSERT_EQ(j.origins.size(), 2u);
  const std::vector<plan::Step>& steps = j.scenarios[0].steps;
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].action, plan::Action::kProtocol);
  EXPECT_EQ(plan::step_action_name(steps[1]), "tcp.receive");
  EXPECT_EQ(steps[1].origin, steps[0].origin);  // a receive reuses the scenario's tcp host
  EXPECT_EQ(steps[1].match.size(), 1u);
  EXPECT_EQ(steps[0].proto->payload, "HELLO ${VU_ID}\n");
  EXPECT_FALSE(steps[0].body.is_static());
  EXPECT_EQ(steps[2].origin, 1);
  EXPECT_TRUE(steps[2].proto->payload_literal);
  EXPECT_EQ(steps[2].proto->payload, std::string("\x00\xff", 2));
  EXPECT_EQ(j.origins[1].url.scheme, "udp");
  EXPECT_EQ(j.variables.size(), 1u);
}

TEST(Journey, RegisteredProtocolKeysAreChecked) {
  const char* head = "[[scenarios]]\nname = \"s\"\n[[scenarios.steps]]\nname = \"a\"\n";
  EXPECT_NE(error_of(std::string(head) +
                     "action = \"tcp.receive\"\nurl = \"tcp://127.0.0.1:9\"\nuntl = \"x\"\n")
                .find("untl"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(head) +
                     "action = \"udp.receive\"\nurl = \"udp://127.0.0.1:9\"\nexpect_bytes = "
                     "true\n")
                .find("expect_bytes: expected a string, a number"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(head) + "action = \"tcp.send\"\nurl = \"http://127.0.0.1:9/\"\n"
                                         "body = \"x\"\n")
                .find("needs a tcp:// url"),
            std::string::npos);
}

}  // namespace
}  // namespace spiker::config

namespace spiker::config {
namespace {

TEST(Journey, WebSocketStepsUseTheirScenariosConnection) {
  ConfigFile c = parse_config(R"(
[defaults]
base_url = "https://127.0.0.1:8443"
[[scenarios]]
name = "chat"
  [[scenarios.steps]]
  name = "open"
  action = "ws.connect"
  url = "/ws"
  headers = { Authorization = "Bearer t" }
  [[scenarios.steps]]
  name = "say"
  action = "ws.send"
  json = { text = "hi ${REQUEST_ID}" }
  [[scenarios.steps]]
  name = "hear"
  action = "ws.receive"
  match = "body contains 'hi'"
  extract = { said = "json:$.text" }
  timeout = "1s"
  [[scenarios.steps]]
  name = "bye"
  action = "ws.close"
)",
                              "t.toml");
  ASSERT_TRUE(c.journey);
  const plan::Journey& j = *c.journey;
  ASSERT_EQ(j.origins.size(), 1u);
  EXPECT_EQ(j.origins[0].url.scheme, "wss");  // a relative url on https:// becomes wss://
  const std::vector<plan::Step>& st = j.scenarios[0].steps;
  ASSERT_EQ(st.size(), 4u);
  EXPECT_EQ(st[0].action, plan::Action::kWsConnect);
  EXPECT_EQ(st[0].headers.size(), 1u);
  EXPECT_EQ(st[1].action, plan::Action::kWsSend);
  EXPECT_TRUE(st[1].has_body);
  EXPECT_EQ(st[2].action, plan::Action::kWsReceive);
  EXPECT_EQ(st[2].match.size(), 1u);
  EXPECT_EQ(st[2].timeout_ns, 1'000'000'000);
  EXPECT_EQ(st[2].extracts.size(), 1u);
  EXPECT_EQ(st[3].action, plan::Action::kWsClose);
  for (const plan::Step& s : st) EXPECT_EQ(s.origin, 0);
  EXPECT_EQ(st[3].deps, std::vector<uint16_t>{2});
}

TEST(Journey, WebSocketMistakesAreNamed) {
  const char* head = "[[scenarios]]\nname = \"s\"\n";
  EXPECT_NE(error_of(std::string(head) +
                     "[[scenarios.steps]]\nname = \"x\"\naction = \"ws.send\"\nbody = \"m\"\n")
                .find("step 'x' (ws.send) needs a ws.connect step before it"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(head) + "[[scenarios.steps]]\nname = \"c\"\naction = "
                                         "\"ws.connect\"\nurl = \"http://127.0.0.1:1/ws\"\n")
                .find("action = \"ws.connect\" needs a ws:// or wss:// url"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(head) +
                     "[[scenarios.steps]]\nname = \"c\"\nurl = \"ws://127.0.0.1:1/ws\"\n")
                .find("a ws:// or wss:// url needs action = \"ws.connect\""),
            std::string::npos);
  EXPECT_NE(error_of(std::string(head) +
                     "[[scenarios.steps]]\nname = \"c\"\naction = \"ws.shout\"\nurl = \"/\"\n")
                .find("use http (the default), ws.connect, ws.send, ws.receive, ws.close, "
                      "tcp.send, tcp.receive, tcp.connect, tcp.close, udp.send, udp.receive"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(head) +
                     "[[scenarios.steps]]\nname = \"c\"\naction = \"ws.connect\"\nurl = "
                     "\"ws://127.0.0.1:1/ws\"\n[[scenarios.steps]]\nname = \"r\"\naction = "
                     "\"ws.receive\"\nbody = \"x\"\n")
                .find("only ws.send takes a body"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(head) + "[[scenarios.steps]]\nname = \"g\"\nurl = "
                                         "\"http://127.0.0.1:1/\"\nmatch = \"body contains 'x'\"\n")
                .find("match applies to action = \"ws.receive\""),
            std::string::npos);
}

}  // namespace
}  // namespace spiker::config
