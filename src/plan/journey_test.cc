#include "plan/journey.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace spiker::plan {
namespace {

Scenario make(std::vector<std::vector<uint16_t>> deps) {
  Scenario sc;
  sc.name.assign(1, 's');  // (= "s" trips GCC 12's -Wrestrict false positive)
  for (size_t i = 0; i < deps.size(); ++i) {
    Step st;
    st.name = std::string(1, static_cast<char>('a' + i));
    st.id = static_cast<uint16_t>(i);
    st.deps = deps[i];
    sc.steps.push_back(st);
  }
  return sc;
}

TEST(Journey, OrdersDependenciesFirstAndKeepsFileOrderOtherwise) {
  Scenario sc = make({{2}, {}, {}, {0, 1}});  // a needs c; d needs a and b
  order_steps(sc, "f");
  std::string names;
  for (const Step& s : sc.steps) names += s.name;
  EXPECT_EQ(names, "cabd");
  EXPECT_EQ(sc.steps[1].deps, std::vector<uint16_t>{0});       // a -> c
  EXPECT_EQ(sc.steps[3].deps, (std::vector<uint16_t>{1, 2}));  // d -> a, b
}

TEST(Journey, NamesTheCycle) {
  Scenario sc = make({{1}, {2}, {0}});
  try {
    order_steps(sc, "f.toml");
    FAIL();
  } catch (const SetupError& e) {
    EXPECT_NE(std::string(e.what()).find("a -> b -> c -> a"), std::string::npos) << e.what();
  }
}

TEST(Journey, GraphsInMermaidAndDot) {
  Journey j;
  j.scenarios.push_back(make({{}, {0}, {0}, {1, 2}}));
  std::string m = graph(j, "mermaid");
  EXPECT_NE(m.find("flowchart TD"), std::string::npos);
  EXPECT_NE(m.find("s0 --> s1"), std::string::npos);
  EXPECT_NE(m.find("s2 --> s3"), std::string::npos);
  std::string d = graph(j, "dot");
  EXPECT_NE(d.find("s1 -> s3;"), std::string::npos);
}

TEST(Template, VariablesAndDataColumns) {
  Scope scope;
  scope.variables = {"token", "id"};
  scope.tables = {{"users", {"name", "password"}}};
  Template t = Template::compile("Bearer ${token} ${users.password}/${id}", "t", &scope);
  EXPECT_EQ(t.vars_used(), 3u);
  EXPECT_EQ(t.tables_used(), 1u);
  std::string vars[] = {"abc", "7"};
  std::string row[] = {"ann", "pw1"};
  const std::string* rows[] = {row};
  RenderContext ctx;
  ctx.vars = vars;
  ctx.table_rows = rows;
  std::string out;
  t.render(out, ctx);
  EXPECT_EQ(out, "Bearer abc pw1/7");
  EXPECT_THROW(Template::compile("${users.email}", "t", &scope), SetupError);
  EXPECT_THROW(Template::compile("${nope}", "t", &scope), SetupError);
}

}  // namespace
}  // namespace spiker::plan
