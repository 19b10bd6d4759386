// Unit tests written from HCL's native syntax specification (hclsyntax/spec.md).
#include "hcl/hcl.h"

#include <gtest/gtest.h>

using namespace spiker::hcl;

namespace {

Value eval_text(const std::string& text, Context* extra = nullptr) {
  static Source src;  // expressions point into it during evaluation
  src = Source{"t.hcl", text};
  Context ctx(extra);
  ctx.add_standard_functions();
  ctx.set("n", Value::number(3));
  ctx.set("s", Value::string("abc"));
  ctx.set("list", Value::tuple({Value::number(1), Value::number(2), Value::number(3)}));
  Value::Fields o;
  o["a"] = Value::number(1);
  o["b"] = Value::string("x");
  ctx.set("obj", Value::object(o));
  Value::Fields item1, item2;
  item1["id"] = Value::number(1);
  item2["id"] = Value::number(2);
  ctx.set("items", Value::tuple({Value::object(item1), Value::object(item2)}));
  return evaluate(*parse_expression(src), ctx);
}

std::string json(const std::string& text) { return to_json(eval_text(text)); }

std::string tmpl(const std::string& text) {
  static Source src;
  src = Source{"t.hcl", text};
  Context ctx;
  ctx.add_standard_functions();
  ctx.set("list", Value::tuple({Value::string("a"), Value::string("b")}));
  ctx.set("yes", Value::boolean(true));
  return evaluate(*parse_template(src), ctx).as_string();
}

std::string error_of(const std::string& text) {
  try {
    eval_text(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(HclExpr, LiteralsAndNumbers) {
  EXPECT_EQ(json("1"), "1");
  EXPECT_EQ(json("1.5e3"), "1500");
  EXPECT_EQ(json("true"), "true");
  EXPECT_EQ(json("null"), "null");
  EXPECT_EQ(json("\"a\\tb\\u00e9\""), "\"a\\tb\u00e9\"");
  EXPECT_EQ(format_number(1e20), "100000000000000000000");
  EXPECT_EQ(format_number(0.1), "0.1");
  EXPECT_EQ(format_number(-2.5e-7), "-0.00000025");
}

TEST(HclExpr, OperatorPrecedence) {
  EXPECT_EQ(json("1 + 2 * 3"), "7");
  EXPECT_EQ(json("(1 + 2) * 3"), "9");
  EXPECT_EQ(json("10 - 4 - 3"), "3");  // left-associative
  EXPECT_EQ(json("7 % 3 + 8 / 4"), "3");
  EXPECT_EQ(json("-n * 2"), "-6");
  EXPECT_EQ(json("1 < 2 == true"), "true");
  EXPECT_EQ(json("true || false && false"), "true");
  EXPECT_EQ(json("!true || true"), "true");
  EXPECT_EQ(json("n > 2 ? \"big\" : \"small\""), "\"big\"");
  EXPECT_EQ(json("false ? 1 : true ? 2 : 3"), "2");
  EXPECT_EQ(json("\"5\" + 1"), "6");       // strings convert to numbers for arithmetic
  EXPECT_EQ(json("1 == \"1\""), "false");  // but equality compares types
}

TEST(HclExpr, CollectionsAndTraversal) {
  EXPECT_EQ(json("[1, \"a\", [true]]"), "[1,\"a\",[true]]");
  EXPECT_EQ(json("{a = 1, \"b\": 2, (s) = 3}"), "{\"a\":1,\"abc\":3,\"b\":2}");
  EXPECT_EQ(json("{\n  a = 1\n  b = 2\n}"), "{\"a\":1,\"b\":2}");
  EXPECT_EQ(json("obj.a"), "1");
  EXPECT_EQ(json("obj[\"b\"]"), "\"x\"");
  EXPECT_EQ(json("list[1]"), "2");
  EXPECT_EQ(json("list.0"), "1");  // legacy index
  EXPECT_EQ(json("items[*].id"), "[1,2]");
  EXPECT_EQ(json("items.*.id"), "[1,2]");
  EXPECT_EQ(json("obj[*]"), "[{\"a\":1,\"b\":\"x\"}]");  // a single value splats as a tuple
  EXPECT_EQ(json("null[*]"), "[]");
}

TEST(HclExpr, ForExpressions) {
  EXPECT_EQ(json("[for x in list : x * 2]"), "[2,4,6]");
  EXPECT_EQ(json("[for i, x in list : i if x > 1]"), "[1,2]");
  EXPECT_EQ(json("{for k, v in obj : v => k}"), "{\"1\":\"a\",\"x\":\"b\"}");
  EXPECT_EQ(json("{for x in [\"a\", \"b\", \"a\"] : x => x...}"),
            "{\"a\":[\"a\",\"a\"],\"b\":[\"b\"]}");
  EXPECT_NE(error_of("{for x in [\"a\", \"a\"] : x => 1}").find("'...'"), std::string::npos);
}

TEST(HclExpr, Functions) {
  EXPECT_EQ(json("upper(s)"), "\"ABC\"");
  EXPECT_EQ(json("length(list)"), "3");
  EXPECT_EQ(json("max(list...)"), "3");
  EXPECT_EQ(json("format(\"%s-%03d\", s, 7)"), "\"abc-007\"");
  EXPECT_EQ(json("jsondecode(\"{\\\"a\\\": [1]}\").a[0]"), "1");
  EXPECT_EQ(json("jsonencode({b = [1, \"x\"]})"), "\"{\\\"b\\\":[1,\\\"x\\\"]}\"");
  EXPECT_EQ(json("tonumber(\"42\") + 1"), "43");
  EXPECT_EQ(json("join(\",\", [for x in list : tostring(x)])"), "\"1,2,3\"");
  EXPECT_EQ(json("keys({b = 1, a = 2})"), "[\"a\",\"b\"]");
  EXPECT_EQ(json("merge({a = 1}, {a = 2, b = 3})"), "{\"a\":2,\"b\":3}");
  EXPECT_EQ(json("toset([\"b\", \"a\", \"b\"])"), "[\"a\",\"b\"]");
  EXPECT_NE(error_of("tonumber(\"x\")").find("cannot convert \"x\" to number"), std::string::npos);
}

TEST(HclTemplate, InterpolationDirectivesAndStrip) {
  EXPECT_EQ(tmpl("a${1 + 1}b"), "a2b");
  EXPECT_EQ(tmpl("$${not} %%{this}"), "${not} %{this}");
  EXPECT_EQ(tmpl("%{ if yes }y%{ else }n%{ endif }"), "y");
  EXPECT_EQ(tmpl("%{ for i, x in list }${i}${x};%{ endfor }"), "0a;1b;");
  EXPECT_EQ(tmpl("a   ${~ \"b\" ~}   c"), "abc");
  // Strip markers reach one line of the neighbouring text, as HCL's reference.
  EXPECT_EQ(tmpl("%{ for x in list ~}\n  ${x}\n%{ endfor ~}\nend"), "  a\n  b\nend");
  EXPECT_EQ(tmpl("x\n%{~ if yes ~}\n  y\n%{~ endif ~}\nz"), "x  yz");
  // A template that is one interpolation is its value, not a string.
  EXPECT_EQ(json("\"${list}\""), "[1,2,3]");
}

TEST(HclFile, BodiesBlocksHeredocsComments) {
  File f = parse_file(R"(# a comment
// another
/* and a
   block comment */
name = "grid"
step "http_request" "first" {
  arguments {
    url = "http://x/${1}"
  }
}
empty "a" {}
one_line { a = 1 }
text = <<EOT
hello
  world
EOT
indented = <<-EOT
    two
      four
    EOT
)",
                      "f.hcl");
  ASSERT_EQ(f.body.attributes.size(), 3u);
  ASSERT_EQ(f.body.blocks.size(), 3u);
  EXPECT_EQ(f.body.blocks[0].type, "step");
  EXPECT_EQ(f.body.blocks[0].labels, (std::vector<std::string>{"http_request", "first"}));
  EXPECT_EQ(f.body.blocks[0].body.blocks[0].type, "arguments");
  EXPECT_EQ(f.body.blocks[2].body.attributes[0].name, "a");
  Context ctx;
  EXPECT_EQ(evaluate(*f.body.attribute("text")->expr, ctx).as_string(), "hello\n  world\n");
  EXPECT_EQ(evaluate(*f.body.attribute("indented")->expr, ctx).as_string(), "two\n  four\n");
}

TEST(HclErrors, CarryFileLineColumnAndCaret) {
  try {
    parse_file("a = 1\nb = (2 +\nc = 3\n", "bad.hcl");
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("bad.hcl:3:"), std::string::npos) << m;
  }
  std::string m = error_of("obj.missing");
  EXPECT_NE(m.find("t.hcl:1:4: this object has no attribute named 'missing'"), std::string::npos)
      << m;
  EXPECT_NE(m.find("\n  obj.missing\n     ^"), std::string::npos) << m;
  EXPECT_NE(error_of("list[5]").find("out of range"), std::string::npos);
  EXPECT_NE(error_of("1 / 0").find("division by zero"), std::string::npos);
  EXPECT_NE(error_of("\"${null}\"x").find("null"), std::string::npos);
  EXPECT_NE(error_of("nope(1)").find("no function named 'nope'"), std::string::npos);
  EXPECT_NE(error_of(std::string(500, '(') + "1" + std::string(500, ')')).find("too deeply"),
            std::string::npos);
}

TEST(HclTraversals, FindRootsForDependencies) {
  Source src{"t", "step.http_request.a.output.body + length(step.b.c[*].output) + var.x"};
  ExprPtr e = parse_expression(src);
  std::vector<std::vector<std::string>> t;
  traversals(*e, &t);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], (std::vector<std::string>{"step", "http_request", "a", "output", "body"}));
  EXPECT_EQ(t[1], (std::vector<std::string>{"step", "b", "c", "[*]"}));
  EXPECT_EQ(t[2], (std::vector<std::string>{"var", "x"}));
}

}  // namespace
