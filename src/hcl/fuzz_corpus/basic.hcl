a = 1 + 2 * x[0]
b "l" { c = "${upper("s")}" }
