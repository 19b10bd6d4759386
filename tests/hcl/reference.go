// reference CORPUS: HCL's reference implementation (github.com/hashicorp/hcl/v2, Debian's
// golang-github-hashicorp-hcl-v2-dev) evaluates the conformance corpus and prints one JSON
// result per case, in hcl_eval's format (src/hcl/hcl_eval.cc). Test-only; built offline:
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o reference reference.go
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func functions() map[string]function.Function {
	return map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"log": stdlib.LogFunc, "pow": stdlib.PowFunc, "signum": stdlib.SignumFunc,
		"parseint": stdlib.ParseIntFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
		"upper": stdlib.UpperFunc, "lower": stdlib.LowerFunc, "title": stdlib.TitleFunc,
		"strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc, "join": stdlib.JoinFunc,
		"split": stdlib.SplitFunc, "chomp": stdlib.ChompFunc, "trimspace": stdlib.TrimSpaceFunc,
		"trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc,
		"trimsuffix": stdlib.TrimSuffixFunc, "replace": stdlib.ReplaceFunc,
		"format": stdlib.FormatFunc, "length": terraformLength, "element": stdlib.ElementFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc,
		"distinct": stdlib.DistinctFunc, "flatten": stdlib.FlattenFunc, "keys": stdlib.KeysFunc,
		"values": stdlib.ValuesFunc, "lookup": stdlib.LookupFunc, "merge": stdlib.MergeFunc,
		"range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc, "slice": stdlib.SliceFunc,
		"sort": stdlib.SortFunc, "compact": stdlib.CompactFunc, "coalesce": stdlib.CoalesceFunc,
		"index": terraformIndex, "zipmap": stdlib.ZipmapFunc, "chunklist": stdlib.ChunklistFunc,
		"jsonencode": stdlib.JSONEncodeFunc, "jsondecode": stdlib.JSONDecodeFunc,
		"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool": stdlib.MakeToFunc(cty.Bool),
		"tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
	}
}

// Terraform's length and index (cty's stdlib has other functions under these names): length
// counts a string's characters and an object's attributes too; index finds a value's position.
var terraformLength = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		if v.Type() == cty.String {
			return stdlib.StrlenFunc.Call(args)
		}
		t := v.Type()
		if !(t.IsListType() || t.IsSetType() || t.IsTupleType() || t.IsMapType() || t.IsObjectType()) {
			return cty.NilVal, fmt.Errorf("argument must be a string, a collection type, or a structural type")
		}
		return cty.NumberIntVal(int64(v.LengthInt())), nil
	},
})

var terraformIndex = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType},
		{Name: "value", Type: cty.DynamicPseudoType}},
	Type: function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		t := args[0].Type()
		if !(t.IsListType() || t.IsTupleType()) {
			return cty.NilVal, fmt.Errorf("argument must be a list or tuple")
		}
		i := 0
		for it := args[0].ElementIterator(); it.Next(); i++ {
			_, v := it.Element()
			if eq := v.Equals(args[1]); eq.IsKnown() && eq.True() {
				return cty.NumberIntVal(int64(i)), nil
			}
		}
		return cty.NilVal, fmt.Errorf("item not found")
	},
})

func family(t cty.Type) string {
	switch {
	case t == cty.String:
		return "string"
	case t == cty.Number:
		return "number"
	case t == cty.Bool:
		return "bool"
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		return "sequence"
	case t.IsMapType() || t.IsObjectType():
		return "mapping"
	}
	return "other"
}

type result struct {
	Name  string          `json:"name"`
	OK    bool            `json:"ok"`
	Type  string          `json:"type,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
	Error string          `json:"error,omitempty"`
}

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	in := bufio.NewScanner(f)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: functions()}
	out := json.NewEncoder(os.Stdout)
	first := true
	for in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		var c map[string]string
		if err := json.Unmarshal(line, &c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if first {
			first = false
			e, diags := hclsyntax.ParseExpression([]byte(c["vars"]), "vars", hcl.InitialPos)
			if diags.HasErrors() {
				fmt.Fprintln(os.Stderr, diags.Error())
				os.Exit(2)
			}
			v, diags := e.Value(ctx)
			if diags.HasErrors() {
				fmt.Fprintln(os.Stderr, diags.Error())
				os.Exit(2)
			}
			for k, x := range v.AsValueMap() {
				ctx.Variables[k] = x
			}
			continue
		}
		r := result{Name: c["name"]}
		var expr hclsyntax.Expression
		var diags hcl.Diagnostics
		if c["kind"] == "template" {
			expr, diags = hclsyntax.ParseTemplate([]byte(c["text"]), c["name"], hcl.InitialPos)
		} else {
			expr, diags = hclsyntax.ParseExpression([]byte(c["text"]), c["name"], hcl.InitialPos)
		}
		if !diags.HasErrors() {
			var v cty.Value
			v, diags = expr.Value(ctx)
			if !diags.HasErrors() {
				if v.IsNull() {
					r.OK, r.Type, r.Value = true, "null", json.RawMessage("null")
				} else if !v.IsWhollyKnown() {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "unknown"})
				} else {
					b, err := ctyjson.Marshal(v, v.Type())
					if err != nil {
						r.Error = err.Error()
					} else {
						r.OK, r.Type, r.Value = true, family(v.Type()), b
					}
				}
			}
		}
		if diags.HasErrors() {
			r.OK = false
			r.Error = diags.Error()
		}
		out.Encode(r)
	}
}
