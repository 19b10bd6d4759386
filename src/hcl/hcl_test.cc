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
    EXPECT_NE(m.find("bad.hcl:3:"), std::string::npos) << m.substr(0, 300);
  }
  std::string m = error_of("obj.missing");
  EXPECT_NE(m.find("t.hcl:1:4: this object has no attribute named 'missing'"), std::string::npos)
      << m.substr(0, 300);
  EXPECT_NE(m.find("\n  obj.missing\n     ^"), std::string::npos) << m.substr(0, 300);
  EXPECT_NE(error_of("list[5]").find("out of range"), std::string::npos);
  EXPECT_NE(error_of("1 / 0").find("division by zero"), std::string::npos);
  EXPECT_NE(error_of("\"${null}\"x").find("null"), std::string::npos);
  EXPECT_NE(error_of("nope(1)").find("no function named 'nope'"), std::string::npos);
  EXPECT_NE(error_of(std::string(500, '(') + "1" + std::string(500, ')')).find("too deeply"),
            std::string::npos);
}

std::string parse_error_of(const std::string& text) {
  try {
    parse_file(text, "deep.hcl");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// Every recursion of the parser (and so of the evaluator and the destructors, which walk the
// same tree) is bounded: 50,000 levels of anything are an error at a place, never a crash.
TEST(HclLimits, DeepNestingIsAnErrorNotACrash) {
  const size_t n = 50'000;
  std::string m = parse_error_of(repeat("a {\n", n) + repeat("}\n", n));
  EXPECT_NE(m.find("deep.hcl:201:1: blocks are nested too deeply: more than 200 levels"),
            std::string::npos)
      << m.substr(0, 300);
  m = parse_error_of(repeat("a {\n", 150) + "x = 1\n" + repeat("}\n", 150));
  EXPECT_EQ(m, "");  // deep, but within the limit
  const std::vector<std::pair<std::string, std::string>> shapes = {
      {"(", ")"},                       // parentheses
      {"[", "]"},                       // tuples
      {"{a = ", "}"},                   // objects
      {"[for x in ", " : x]"},          // for expressions
      {"{for k, v in ", " : k => v}"},  // object for expressions
      {"\"${", "}\""},                  // templates in templates
      {"f(", ")"},                      // calls
      {"true ? ", " : 0"},              // conditionals
      {"!", ""},                        // unary operators
      {"x[", "]"},                      // index expressions
  };
  for (const auto& [open, close] : shapes) {
    std::string text = "v = " + repeat(open, n) + "1" + repeat(close, n) + "\n";
    m = parse_error_of(text);
    EXPECT_NE(m.find("nested too deeply: more than 200 levels"), std::string::npos)
        << open << " " << m.substr(0, 300);
    EXPECT_LT(m.size(), 600u);  // the long line is shown around its column, not whole
  }
  // Chains that the parser reads in a loop but that nest in the tree (left to right).
  for (const std::string& link : {std::string(" + 1"), std::string(".a"), std::string("[0]"),
                                  std::string("[*].a"), std::string(" * 2 - 1")}) {
    std::string text = "v = x" + repeat(link, n) + "\n";
    m = parse_error_of(text);
    EXPECT_NE(m.find("nested too deeply"), std::string::npos) << link << " " << m.substr(0, 200);
  }
  // Template directives and heredocs in heredocs.
  m = parse_error_of("v = \"" + repeat("%{ if true }", n) + repeat("%{ endif }", n) + "\"\n");
  EXPECT_NE(m.find("nested too deeply"), std::string::npos) << m.substr(0, 300);
  m = parse_error_of("v = \"" + repeat("%{ for x in [1] }", n) + repeat("%{ endfor }", n) + "\"\n");
  EXPECT_NE(m.find("nested too deeply"), std::string::npos) << m.substr(0, 300);
  std::string heredocs = "v = <<E0\n", ends;
  for (int i = 1; i < 300; ++i) {
    heredocs += "${<<E" + std::to_string(i) + "\n";
    ends = "E" + std::to_string(i) + "\n}\n" + ends;
  }
  m = parse_error_of(heredocs + "x\n" + ends + "E0\n");
  EXPECT_NE(m.find("nested too deeply"), std::string::npos) << m.substr(0, 300);
  // A long flat body stays linear (duplicate attributes were found in n squared).
  std::string flat;
  for (int i = 0; i < 100'000; ++i) flat += "a" + std::to_string(i) + " = 1\n";
  EXPECT_EQ(
      parse_error_of(flat + "a5 = 2\n").find("deep.hcl:100001:1: attribute 'a5' is set twice"), 0u);
}

// What an expression builds is bounded: each error names the limit and the place.
TEST(HclLimits, CollectionsAndTextAreBounded) {
  std::string m = error_of("range(1e16, 1e16 + 10)");  // 1e16 + 1 is 1e16: it never advanced
  EXPECT_NE(m.find("t.hcl:1:1: call to function 'range' failed: range: a step of 1 cannot count "
                   "from 1e+16 to 1.000000000000001e+16: numbers that large are 2 apart"),
            std::string::npos)
      << m.substr(0, 300);
  m = error_of("range(0, 1e12)");
  EXPECT_NE(m.find("would make 1000000000000 values: more than 1000000"), std::string::npos)
      << m.substr(0, 300);
  EXPECT_EQ(json("range(1e15, 1e15 + 3)"), "[1000000000000000,1000000000000001,1000000000000002]");
  EXPECT_EQ(json("length(range(1000000))"), "1000000");  // at the limit, not past it
  m = error_of("[for a in range(1000000) : [for b in range(1000) : b]]");
  EXPECT_NE(m.find("t.hcl:1:1: the result would hold more than 1000000 values"), std::string::npos)
      << m.substr(0, 300);
  m = error_of("{for a in range(2000) : a => [for b in range(1000) : b]}");
  EXPECT_NE(m.find("more than 1000000 values"), std::string::npos) << m.substr(0, 300);
  m = error_of("[for a in range(100000) : length([for b in range(1000) : b])]");
  EXPECT_NE(m.find("more than 5000000 steps (the limit on one expression's work"),
            std::string::npos)
      << m.substr(0, 300);
  m = error_of("join(\"\", [for i in range(100000) : format(\"%9999s\", \"\")])");
  EXPECT_NE(m.find("more than 16 MiB of text"), std::string::npos) << m.substr(0, 300);
  m = error_of("\"%{ for i in range(100000) }${format(\"%9999s\", \"\")}%{ endfor }\"");
  EXPECT_NE(m.find("more than 16 MiB of text"), std::string::npos) << m.substr(0, 300);
  m = error_of("replace(format(\"%9999s\", \"\"), \" \", format(\"%9999s\", \"\"))");
  EXPECT_NE(m.find("more than 16 MiB of text"), std::string::npos) << m.substr(0, 300);
  m = error_of("length(split(\"\", format(\"%9999s\", \"\")))");
  EXPECT_EQ(m, "");
  m = error_of("concat([for i in range(600000) : i], [for i in range(600000) : i])");
  EXPECT_NE(m.find("call to function 'concat' failed: the result would hold more than 1000000"),
            std::string::npos)
      << m.substr(0, 300);
  m = error_of("substr(\"abc\", 1e300, 1)");
  EXPECT_NE(m.find("1e+300 is too large"), std::string::npos) << m.substr(0, 300);
  // Nesting of values: JSON from a string, and lists built in lists.
  m = error_of("jsondecode(\"" + repeat("[", 100'000) + repeat("]", 100'000) + "\")");
  EXPECT_NE(m.find("more than 256 levels deep"), std::string::npos) << m.substr(0, 300);
  EXPECT_THROW(from_json(repeat("[", 1'000'000) + repeat("]", 1'000'000)), std::runtime_error);
  EXPECT_EQ(json("length(distinct([for i in range(200000) : i % 7]))"), "7");  // n log n
  // A lookup in a big map, in a loop: charged per call, not per element of the map.
  Value::Fields big;
  for (int i = 0; i < 100'000; ++i) big[std::to_string(i)] = Value::number(i);
  Context extra;
  extra.set("m", Value::object(std::move(big)));
  EXPECT_EQ(to_json(eval_text("length([for i in range(100000) : lookup(m, tostring(i))])", &extra)),
            "100000");
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
