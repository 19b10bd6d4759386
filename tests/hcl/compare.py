"""Compares hcl_eval's results with HCL's reference implementation's, case by case: both give
the same value (numbers to double precision: HCL's reference computes with 512-bit floats) of
the same type family, or both reject the case. Prints each difference; exit 1 when any."""
import json
import math
import sys


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def compare(corpus, ours, reference):
    cases = {}
    with open(corpus) as f:
        for line in f.readlines()[1:]:
            c = json.loads(line)
            cases[c["name"]] = c
    a = [json.loads(line) for line in open(ours) if line.strip()]
    b = {r["name"]: r for r in (json.loads(line) for line in open(reference) if line.strip())}
    diffs = []
    for r in a:
        ref = b.get(r["name"])
        text = cases[r["name"]]["text"]
        if ref is None:
            diffs.append(f"{r['name']} {text!r}: no reference result")
        elif r["ok"] != ref["ok"]:
            diffs.append(f"{r['name']} {text!r}: ours {'ok ' + json.dumps(r.get('value')) if r['ok'] else 'error: ' + r['error'].splitlines()[0]}"
                         f" / reference {'ok ' + json.dumps(ref.get('value')) if ref['ok'] else 'error: ' + ref['error']}")
        elif r["ok"] and (r["type"] != ref["type"] or not same(r["value"], ref["value"])):
            diffs.append(f"{r['name']} {text!r}: ours {r['type']} {json.dumps(r['value'])} / "
                         f"reference {ref['type']} {json.dumps(ref['value'])}")
    return len(a), diffs


def main():
    n, diffs = compare(*sys.argv[1:4])
    for d in diffs:
        print(d)
    print(f"{n - len(diffs)} of {n} cases agree with HCL's reference implementation")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
