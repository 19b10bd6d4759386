"""The HCL conformance corpus: expressions and templates that our evaluator (hcl_eval) and
HCL's reference implementation (reference.go) must evaluate to the same values, or both
reject. `python3 corpus.py > corpus.jsonl` writes it (the first line: the variables)."""
import json
import sys

VARS = """{
  n = 3, zero = 0, half = 0.5, s = "abc", empty = "", t = true, f = false, nothing = null,
  list = [1, 2, 3], strs = ["b", "a", "c"], mixed = [1, "two", true],
  obj = { a = 1, b = "x" },
  nested = { inner = { deep = "d", nums = [10, 20] } },
  items = [{ id = 1, tags = ["x", "y"] }, { id = 2, tags = ["z"] }],
  users = { ann = { age = 31 }, bob = { age = 25 } },
  numstr = "42", boolstr = "true", spaced = "  pad  "
}"""

EXPR = [
    # number literals and arithmetic
    "0", "1", "42", "1.5", "1e3", "1E-2", "2.5e+2", "12345678901", "0.1 + 0.2", "10 / 4",
    "7 % 3", "-7 % 3", "7 % -3", "2 * 3 + 4", "2 * (3 + 4)", "-(1)", "- -1", "1 - 2 - 3",
    "100 / 10 / 5", "2 + 3 * 4 - 6 / 2", "-n", "n * half", "1 / 0", "5 % 0", "0.5 * 4",
    "n - 3.5", "1e-7 * 10", "3 * -2",
    # strings and escapes
    '"a"', '"\\n"', '"\\t"', '"\\""', '"\\\\"', '"\\u00e9"', '"\\U0001F600"', '"$${x}"',
    '"%%{x}"', '"a${1}b"', '"${"nested ${1}"}"', '"${s}${s}"', '"${n}"', '"${t}"',
    '"x${half}y"', '"${1.5e3}"', '"${nothing}"', '"${list}"', '"n=${n + 1}"', '"\\q"',
    '"${upper(s)}!"', '"${obj.b}"', '"a\\r\\nb"',
    # comparison and equality
    "1 < 2", "2 <= 2", "3 > 4", "4 >= 5", "1 == 1", "1 == 1.0", '"a" == "a"', '"a" != "b"',
    '1 == "1"', "true == true", "null == null", "nothing == null", "[1, 2] == [1, 2]",
    "[1, 2] == [2, 1]", "{a = 1} == {a = 1}", "list == [1, 2, 3]", '"2" < 10', '"a" < 1',
    "obj == {a = 1, b = \"x\"}", "1 != 2", "t != f",
    # logic
    "true && false", "true || false", "!true", "!f", "t && !f", "false || false",
    "true || false && false", '"true" && true', "1 && true", "!nothing", "!(1 < 2)",
    "n > 2 && n < 4",
    # conditionals
    'true ? "y" : "n"', 'false ? "y" : "n"', 'n > 2 ? "big" : "small"', "t ? 1 : 2",
    'false ? 1 : true ? 2 : 3', '1 ? "a" : "b"', 'nothing ? 1 : 2', '"true" ? 1 : 2',
    "t ? list : []", "f ? 1 : \"one\"", "t ? 1 : \"one\"",
    # tuples and objects
    "[]", "[1, \"a\", true, null]", "[[1, 2], [3]]", "{}", "{a = 1}", '{"a b" = 1}',
    "{a: 1, b: 2}", "{(s) = 1}", '{"${s}x" = 2}', "{a = {b = {c = 1}}}", "{a = 1, a2 = [1, 2]}",
    "[1,\n 2,\n 3]", "{\n a = 1\n b = 2\n}", "[for x in [1, 2]: x]", "{a = 1}.a",
    # traversal
    "obj.a", 'obj["b"]', "list[0]", "list[2]", "list.1", "nested.inner.deep",
    "nested.inner.nums[1]", "items[0].tags[1]", "users.ann.age", 'users["bob"].age',
    "list[3]", "list[-1]", "obj.c", "nothing.a", "s.a", 'list["1"]', "list[0.5]", "obj[0]",
    "strs[n - 1]", "items[1].id", "mixed[1]",
    # splats
    "items[*].id", "items.*.id", "items[*].tags", "items[*].tags[0]", "items.*.tags[0]",
    "obj[*]", "nothing[*]", "list[*]", "[{a = 1}, {a = 2}][*].a", "items[*].missing",
    "length(items[*].id)", "[for x in items[*].id : x * 10]", "s[*]",
    # for expressions
    "[for x in list : x * 2]", "[for i, x in list : i]", "[for i, x in list : x if i > 0]",
    "[for x in list : x if x != 2]", "{for k, v in obj : k => v}", "{for k, v in obj : v => k}",
    "{for x in strs : x => upper(x)}", '{for x in ["a", "b", "a"] : x => x...}',
    '{for x in ["a", "a"] : x => 1}', "[for k, v in users : \"${k}:${v.age}\"]",
    "[for x in toset([\"b\", \"a\"]) : x]", "[for x in [[1, 2], [3]] : length(x)]",
    "[for x in list : [for y in list : x * y if y > x]]", "{for k, v in users : k => v.age if v.age > 30}",
    "[for x in nothing : x]", "[for x in 5 : x]", "[for x in list : x if x]",
    "{for i, x in strs : x => i}", "[for k, v in {b = 1, a = 2} : k]",
    # functions: numbers
    "abs(-3)", "abs(2.5)", "ceil(1.2)", "floor(-1.2)", "pow(2, 10)", "signum(-4)", "signum(0)",
    'parseint("ff", 16)', 'parseint("101", 2)', 'parseint("zz", 10)', "max(1, 5, 3)",
    "min(4, -1)", "max(list...)", "min()", "log(8, 2)",
    # functions: strings
    "upper(s)", 'lower("MiXeD")', 'title("hello world")', "strrev(s)", "substr(s, 1, 1)",
    "substr(s, -2, -1)", 'join("-", strs)', 'join(", ", ["a"], ["b", "c"])', 'split(",", "a,b,c")',
    'split(",", "")', 'chomp("x\\n\\n")', "trimspace(spaced)", 'trim("xxhixx", "x")',
    'trimprefix("prefix-x", "prefix-")', 'trimsuffix("x.txt", ".txt")',
    'replace("a-b-c", "-", "+")', 'format("%s-%d", s, 7)', 'format("%03d", 7)',
    'format("%.2f", 3.14159)', 'format("%5s|", "ab")', 'format("%-5s|", "ab")',
    'format("%q", "q")', 'format("%t", true)', 'format("%%")', 'format("%d", 1.5)',
    'format("%s")', 'format("%v", 12)', 'upper(1)',
    # functions: collections
    "length(list)", "length({a = 1, b = 2})", "length([])", "element(strs, 4)",
    "element([], 0)", "concat([1], [2, 3])", "concat(list, strs)", "contains(list, 2)",
    'contains(strs, "z")', "distinct([1, 2, 1, 3])", "flatten([[1, [2]], 3])", "keys(obj)",
    "values(obj)", "keys(users)", 'lookup(obj, "a", 0)', 'lookup(obj, "zz", "dflt")',
    'lookup(obj, "zz")', "merge({a = 1}, {b = 2}, {a = 3})", "merge()", "range(3)",
    "range(1, 4)", "range(0, 10, 3)", "range(5, 1)", "reverse(list)", "slice(list, 1, 3)",
    "slice(list, 2, 1)", "sort(strs)", 'compact(["a", "", "b"])', 'coalesce("", "x", "y")',
    "coalesce(nothing, 2)", "index(strs, \"c\")", 'index(strs, "q")',
    'zipmap(["a", "b"], [1, 2])', "chunklist([1, 2, 3, 4, 5], 2)", "length(s)",
    # encoding and conversion
    "jsonencode({a = [1, true, null]})", "jsonencode(\"x\")", "jsonencode(1.5)",
    'jsondecode("{\\"a\\": [1, 2]}")', 'jsondecode("[1, \\"x\\", false]")', 'jsondecode("1")',
    'jsondecode("{bad")', "tostring(1)", "tostring(true)", "tostring(nothing)", "tostring(1.25)",
    'tonumber("42")', "tonumber(numstr) + 1", 'tonumber("x")', 'tonumber("1e2")', "tobool(boolstr)",
    'tobool("yes")', "tobool(1)", "tolist([1, 2])", "toset([\"b\", \"a\", \"b\"])",
    "tomap({a = \"1\", b = \"2\"})", "length(toset([1, 1, 2]))", "tostring([1])",
    # function calls with expansion and nesting
    "max([4, 9, 2]...)", "upper(lower(upper(s)))", 'format("%s=%s", ["k", "v"]...)',
    "length([for x in range(10) : x if x % 2 == 0])", "nope(1)", "upper()", "upper(s, s)",
    # variables and errors
    "n", "nothing", "unknown_var", "obj.a.b", "list.x", "1 +", "(1", "[1, 2", "{a = }",
    '"unterminated', "1 ++ 2", "a.", "t ?", "obj[\"a\"", "[for x in list x]",
    "{for x in list : x}", "list[*].x", "1.2.3", "$x", "true false",
]

TEMPLATES = [
    "plain text", "${1 + 1}", "a${s}b", "${n}", "${t}", "${nothing}", "${list}",
    "$${literal}", "%%{literal}", "%{ if t }yes%{ endif }", "%{ if f }yes%{ else }no%{ endif }",
    "%{if n > 2}big%{else}small%{endif}", "%{ for x in strs }${x},%{ endfor }",
    "%{ for i, x in strs }${i}=${x} %{ endfor }", "%{ for k, v in obj }${k}:${v};%{ endfor }",
    "a   ${~ s ~}   b", "a   ${~ s}   b", "a   ${s ~}   b",
    "%{ for x in strs ~}\n  ${x}\n%{ endfor ~}\nend",
    "x\n%{~ if t ~}\n  y\n%{~ endif ~}\nz", "%{ if t }${ upper(s) }%{ endif }",
    "%{ for x in [] }never%{ endfor }done", "%{ if nothing }x%{ endif }", "%{ if 1 }x%{ endif }",
    "%{ for x in 3 }x%{ endfor }", "%{ if t }unclosed", "%{ endif }", "%{ else }",
    "${", "${s", "100%", "$ {not}", "a$b", "%{ for x in list }%{ if x > 1 }${x}%{ endif }%{ endfor }",
    "multi\nline\n${s}\n", "${[for x in list : x]}", "tab\there", "${ \"inner ${s}\" }",
    "%{ if t ~} spaced %{~ endif }", "${obj.b}${obj.a}",
]

HEREDOCS = [
    "<<EOT\nhello\nEOT\n", "<<EOT\nhello ${s}\n  world\nEOT\n", "<<-EOT\n    two\n      four\n    EOT\n",
    "<<-EOT\n  a\n\n  b\n  EOT\n", "<<EOT\n%{ for x in strs }${x}\n%{ endfor }EOT\n",
    "<<EOT\nno end\n", "<<EOT\n$${x}\nEOT\n",
]


def main():
    out = [json.dumps({"vars": VARS})]
    for i, text in enumerate(EXPR):
        out.append(json.dumps({"name": f"expr{i:03d}", "kind": "expr", "text": text}))
    for i, text in enumerate(TEMPLATES):
        out.append(json.dumps({"name": f"tmpl{i:03d}", "kind": "template", "text": text}))
    for i, text in enumerate(HEREDOCS):
        out.append(json.dumps({"name": f"here{i:03d}", "kind": "expr", "text": text}))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
