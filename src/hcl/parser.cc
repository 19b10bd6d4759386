// The HCL native syntax parser: a recursive-descent reader over the text (no token stream),
// following hclsyntax/spec.md: bodies of attributes and blocks, expressions with the spec's
// operator precedence, templates with interpolations, directives, strip markers and heredocs.
#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/redact.h"
#include "hcl/hcl.h"

namespace spiker::hcl {

namespace {

std::string caret_line(const Source& src, Pos at) {
  size_t begin = src.text.rfind('\n', at.offset == 0 ? 0 : at.offset - 1);
  begin = begin == std::string::npos || at.offset == 0 ? 0 : begin + 1;
  if (at.offset > 0 && at.offset <= src.text.size() && src.text[at.offset - 1] == '\n') {
    begin = at.offset;
  }
  size_t end = src.text.find('\n', begin);
  std::string line = src.text.substr(begin, end == std::string::npos ? end : end - begin);
  // The caret's byte in the line: at.col counts characters.
  size_t col = 0;
  for (int c = 1; c < at.col && col < line.size(); ++c) {
    ++col;
    while (col < line.size() && (static_cast<unsigned char>(line[col]) & 0xC0) == 0x80) ++col;
  }
  // A URL's password (postgres://user:pw@...) is not shown with the line.
  line = redact_urls_in(line, &col);
  // A long line (a generated file's) is shown as the 60 bytes either side of the caret.
  constexpr size_t kSide = 60;
  std::string before = "  ";
  if (line.size() > 2 * kSide) {
    size_t from = col > kSide ? col - kSide : 0;
    while (from > 0 && (static_cast<unsigned char>(line[from]) & 0xC0) == 0x80) --from;
    size_t to = std::min(line.size(), col + kSide);
    while (to < line.size() && (static_cast<unsigned char>(line[to]) & 0xC0) == 0x80) ++to;
    if (from > 0) before += "...";
    line = line.substr(from, to - from) + (to < line.size() ? "..." : "");
    col -= from;
  }
  std::string pad(before.size(), ' ');
  for (size_t i = 0; i < col && i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if ((c & 0xC0) != 0x80) pad += c == '\t' ? '\t' : ' ';  // one column per character
  }
  return "\n" + before + line + "\n" + pad + "^";
}

}  // namespace

Error::Error(const Source& src, Pos at, const std::string& message)
    : SetupError(
          fmt::format("{}:{}:{}: {}{}", src.name, at.line, at.col, message, caret_line(src, at)),
          kExitUsage) {}

const Attribute* Body::attribute(std::string_view name) const {
  for (const Attribute& a : attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

namespace {

bool id_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (static_cast<unsigned char>(c) >= 0x80);
}
bool id_char(char c) {
  return id_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '-';
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

class Parser {
 public:
  explicit Parser(const Source& src) : src_(src), t_(src.text) {}

  // --- bodies ---

  Body body(bool top) {
    Body b;
    std::map<std::string, int, std::less<>> names;  // attribute -> its line
    for (;;) {
      skip(true);
      if (eof()) {
        if (!top) fail("a block is not closed: expected '}'");
        return b;
      }
      if (peek() == '}') {
        if (top) fail("unexpected '}': no block is open here");
        return b;
      }
      size_t attributes = b.attributes.size();
      item(b);
      if (b.attributes.size() == attributes) continue;
      const Attribute& a = b.attributes.back();
      auto [it, fresh] = names.emplace(a.name, a.pos.line);
      if (!fresh) {
        fail_at(a.pos,
                fmt::format("attribute '{}' is set twice (first at line {})", a.name, it->second));
      }
    }
  }

  void item(Body& b) {
    Pos at = pos();
    if (!id_start(peek())) fail("expected an attribute name or a block type");
    std::string name = ident();
    skip(false);
    if (peek() == '=' && peek(1) != '=') {
      ++i_;
      ++col_;
      skip(false);
      Attribute a;
      a.name = name;
      a.pos = at;
      a.expr = expression();
      b.attributes.push_back(std::move(a));
      end_of_item();
      return;
    }
    Block blk;
    blk.type = name;
    blk.pos = at;
    for (;;) {
      skip(false);
      if (peek() == '"') {
        blk.labels.push_back(label_string());
      } else if (id_start(peek())) {
        blk.labels.push_back(ident());
      } else {
        break;
      }
    }
    if (peek() != '{') {
      fail(blk.labels.empty() && peek() != '='
               ? fmt::format("expected '=' after '{}' (an attribute) or "
                             "labels and '{{' (a block)",
                             name)
               : "expected '{' to open the block");
    }
    ++i_;
    ++col_;
    skip(false);
    if (!eof() && peek() != '\n' && peek() != '}') {  // a one-line block: at most one item
      item_inline(blk.body);
      skip(false);
      if (peek() != '}') fail("a one-line block holds one attribute; expected '}'");
      ++i_;
      ++col_;
    } else if (peek() == '}') {
      ++i_;
      ++col_;
    } else {
      deeper(at, "blocks are");
      blk.body = body(false);
      --depth_;
      ++i_;  // '}'
      ++col_;
    }
    b.blocks.push_back(std::move(blk));
    end_of_item();
  }

  void item_inline(Body& b) {
    Pos at = pos();
    if (!id_start(peek())) fail("expected an attribute name");
    std::string name = ident();
    skip(false);
    if (peek() != '=') fail("expected '=': a one-line block holds one attribute");
    ++i_;
    ++col_;
    skip(false);
    Attribute a;
    a.name = name;
    a.pos = at;
    a.expr = expression();
    b.attributes.push_back(std::move(a));
  }

  void end_of_item() {
    skip(false);
    if (eof() || peek() == '\n' || peek() == '}') return;
    fail("expected a new line after this item (one attribute or block per line)");
  }

  std::string label_string() {
    Pos at = pos();
    ExprPtr e = quoted();
    if (e->kind != Expr::Kind::kLiteral) fail_at(at, "a block label cannot hold ${...}");
    return e->value.as_string();
  }

  // --- expressions ---

  ExprPtr expression() {
    deeper(pos(), kExprNesting);
    ExprPtr e = conditional();
    --depth_;
    return e;
  }

  ExprPtr conditional() {
    ExprPtr c = binary(0);
    size_t save = i_;
    int sl = line_, sc = col_;
    skip(nest_ > 0);
    if (peek() != '?') {  // what follows is the caller's (a new line may end an object item)
      i_ = save;
      line_ = sl;
      col_ = sc;
      return c;
    }
    Pos at = pos();
    ++i_;
    ++col_;
    skip(true);
    auto e = node(Expr::Kind::kCond, at);
    e->a = std::move(c);
    ++nest_;
    e->b = expression();
    skip(true);
    if (peek() != ':') fail("expected ':' in a conditional (cond ? a : b)");
    ++i_;
    ++col_;
    skip(true);
    --nest_;
    e->c = expression();
    return e;
  }

  // Binary operators, lowest precedence first.
  static constexpr const char* kLevels[][4] = {
      {"||", nullptr},        {"&&", nullptr},     {"==", "!=", nullptr},
      {"<=", ">=", "<", ">"}, {"+", "-", nullptr}, {"*", "/", "%", nullptr},
  };

  ExprPtr binary(int level) {
    if (level == 6) return unary();
    ExprPtr left = binary(level + 1);
    int links = 0;  // a chain a + b + c nests to the left: one level per operator
    for (;;) {
      size_t save = i_;
      int sl = line_, sc = col_;
      skip(nest_ > 0);
      const char* op = nullptr;
      for (const char* o : kLevels[level]) {
        if (o == nullptr) break;
        size_t n = std::strlen(o);
        if (t_.compare(i_, n, o) == 0) {
          // '<' of '<<' (a heredoc) and '=' of '=>' are not these operators.
          if (n == 1 && (o[0] == '<' || o[0] == '>') && peek(1) == '=') continue;
          op = o;
          break;
        }
      }
      if (op == nullptr) {
        i_ = save;
        line_ = sl;
        col_ = sc;
        depth_ -= links;
        return left;
      }
      Pos at = pos();
      deeper(at, kExprNesting);
      ++links;
      size_t n = std::strlen(op);
      i_ += n;
      col_ += static_cast<int>(n);
      skip(true);
      auto e = node(Expr::Kind::kBinary, at);
      e->name = op;
      e->a = std::move(left);
      e->b = binary(level + 1);
      left = std::move(e);
    }
  }

  ExprPtr unary() {
    skip(nest_ > 0);
    if (peek() == '!' || (peek() == '-' && !std::isdigit(static_cast<unsigned char>(peek(1))))) {
      Pos at = pos();
      char op = peek();
      ++i_;
      ++col_;
      skip(nest_ > 0);
      auto e = node(Expr::Kind::kUnary, at);
      e->name = std::string(1, op);
      deeper(at, kExprNesting);
      e->a = unary();
      --depth_;
      return e;
    }
    if (peek() == '-') {  // a negative number literal binds to its traversals as -(x)
      Pos at = pos();
      ++i_;
      ++col_;
      auto e = node(Expr::Kind::kUnary, at);
      e->name = "-";
      e->a = postfix(primary());
      return e;
    }
    return postfix(primary());
  }

  ExprPtr postfix(ExprPtr e) {
    int links = 0;  // a.b[0].c nests to the left: one level per traversal
    for (;;) {
      // Traversals may not cross a new line outside brackets.
      size_t save = i_;
      int sl = line_, sc = col_;
      skip(nest_ > 0);
      deeper(pos(), kExprNesting);
      ++links;
      if (peek() == '.' && peek(1) == '*') {
        Pos at = pos();
        i_ += 2;
        col_ += 2;
        e = splat(std::move(e), at, false);
        continue;
      }
      if (peek() == '[' && peek(1) == '*' && peek(2) == ']') {
        Pos at = pos();
        i_ += 3;
        col_ += 3;
        e = splat(std::move(e), at, true);
        continue;
      }
      ExprPtr t = traversal_step(std::move(e), &e);
      if (t) {
        e = std::move(t);
        continue;
      }
      i_ = save;
      line_ = sl;
      col_ = sc;
      depth_ -= links;
      return e;
    }
  }

  // One .attr, .0 or [index] applied to `base`; null (with base moved back) when none follows.
  ExprPtr traversal_step(ExprPtr base, ExprPtr* back) {
    if (peek() == '.' && (id_start(peek(1)) || std::isdigit(static_cast<unsigned char>(peek(1))))) {
      Pos at = pos();
      ++i_;
      ++col_;
      if (std::isdigit(static_cast<unsigned char>(peek()))) {  // legacy index: a.0
        size_t start = i_;
        while (std::isdigit(static_cast<unsigned char>(peek()))) {
          ++i_;
          ++col_;
        }
        auto e = node(Expr::Kind::kIndex, at);
        e->a = std::move(base);
        e->b = node(Expr::Kind::kLiteral, at);
        e->b->value = Value::number(number_text(start, at));
        return e;
      }
      auto e = node(Expr::Kind::kAttr, at);
      e->a = std::move(base);
      e->name = ident();
      return e;
    }
    if (peek() == '[') {
      Pos at = pos();
      ++i_;
      ++col_;
      ++nest_;
      skip(true);
      auto e = node(Expr::Kind::kIndex, at);
      e->a = std::move(base);
      e->b = expression();
      skip(true);
      if (peek() != ']') fail("expected ']' to close the index");
      ++i_;
      ++col_;
      --nest_;
      return e;
    }
    *back = std::move(base);
    return nullptr;
  }

  // source[*].a.b[0] (full: every later traversal applies to each element) or source.*.a.b
  // (attribute-only: later attribute accesses only).
  ExprPtr splat(ExprPtr source, Pos at, bool full) {
    auto s = node(Expr::Kind::kSplat, at);
    s->a = std::move(source);
    s->full_splat = full;
    ExprPtr each = node(Expr::Kind::kSplatItem, at);
    int links = 0;
    for (;;) {
      size_t save = i_;
      int sl = line_, sc = col_;
      skip(nest_ > 0);
      deeper(pos(), kExprNesting);
      ++links;
      if (!full && peek() == '[') {  // an index ends an attribute-only splat
        i_ = save;
        line_ = sl;
        col_ = sc;
        break;
      }
      if ((peek() == '.' && peek(1) == '*') || (peek() == '[' && peek(1) == '*')) {
        i_ = save;
        line_ = sl;
        col_ = sc;
        break;
      }
      ExprPtr t = traversal_step(std::move(each), &each);
      if (!t) {
        i_ = save;
        line_ = sl;
        col_ = sc;
        break;
      }
      each = std::move(t);
    }
    depth_ -= links;
    s->b = std::move(each);
    return s;
  }

  ExprPtr primary() {
    skip(nest_ > 0);
    Pos at = pos();
    char c = peek();
    if (eof()) fail("expected an expression");
    if (std::isdigit(static_cast<unsigned char>(c))) return number();
    if (c == '"') return quoted();
    if (c == '<' && peek(1) == '<') return heredoc();
    if (c == '(') {
      ++i_;
      ++col_;
      ++nest_;
      skip(true);
      auto e = node(Expr::Kind::kParens, at);
      e->a = expression();
      skip(true);
      if (peek() != ')') fail("expected ')'");
      ++i_;
      ++col_;
      --nest_;
      return e;
    }
    if (c == '[') return tuple_or_for();
    if (c == '{') return object_or_for();
    if (id_start(c)) {
      std::string name = ident();
      if (name == "true" || name == "false") {
        auto e = node(Expr::Kind::kLiteral, at);
        e->value = Value::boolean(name == "true");
        return e;
      }
      if (name == "null") return node(Expr::Kind::kLiteral, at);
      size_t save = i_;
      int sl = line_, sc = col_;
      skip(false);
      if (peek() == '(') return call(name, at);
      i_ = save;
      line_ = sl;
      col_ = sc;
      auto e = node(Expr::Kind::kVariable, at);
      e->name = name;
      return e;
    }
    fail(fmt::format("expected an expression, not '{}'", c));
  }

  ExprPtr call(const std::string& name, Pos at) {
    auto e = node(Expr::Kind::kCall, at);
    e->name = name;
    ++i_;  // '('
    ++col_;
    ++nest_;
    for (;;) {
      skip(true);
      if (peek() == ')') break;
      e->items.push_back(expression());
      skip(true);
      if (t_.compare(i_, 3, "...") == 0) {
        i_ += 3;
        col_ += 3;
        e->expand = true;
        skip(true);
        if (peek() != ')') fail("'...' expands the last argument only; expected ')'");
        break;
      }
      if (peek() == ',') {
        ++i_;
        ++col_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in the function call");
    }
    ++i_;
    ++col_;
    --nest_;
    return e;
  }

  bool keyword_ahead(const char* word) {
    size_t n = std::strlen(word);
    return t_.compare(i_, n, word) == 0 && (i_ + n >= t_.size() || !id_char(t_[i_ + n]));
  }

  ExprPtr tuple_or_for() {
    Pos at = pos();
    ++i_;
    ++col_;
    ++nest_;
    skip(true);
    if (keyword_ahead("for")) return for_expr(at, false);
    auto e = node(Expr::Kind::kTuple, at);
    for (;;) {
      skip(true);
      if (peek() == ']') break;
      e->items.push_back(expression());
      skip(true);
      if (peek() == ',') {
        ++i_;
        ++col_;
        continue;
      }
      if (peek() != ']') fail("expected ',' or ']' in the tuple");
    }
    ++i_;
    ++col_;
    --nest_;
    return e;
  }

  ExprPtr object_or_for() {
    Pos at = pos();
    ++i_;
    ++col_;
    ++nest_;
    skip(true);
    if (keyword_ahead("for")) return for_expr(at, true);
    auto e = node(Expr::Kind::kObject, at);
    for (;;) {
      skip(true);
      if (peek() == '}') break;
      Pos kat = pos();
      ExprPtr key;
      if (id_start(peek())) {  // a bare name is the key itself (parenthesize to evaluate)
        size_t save = i_;
        int sl = line_, sc = col_;
        std::string name = ident();
        skip(false);
        if (peek() == '=' || peek() == ':') {
          key = node(Expr::Kind::kLiteral, kat);
          key->value = Value::string(name);
        } else {
          i_ = save;
          line_ = sl;
          col_ = sc;
        }
      }
      if (!key) key = expression();
      skip(false);
      if (peek() == '=' && peek(1) != '=') {
        ++i_;
        ++col_;
      } else if (peek() == ':') {
        ++i_;
        ++col_;
      } else {
        fail("expected '=' or ':' after the object key");
      }
      skip(true);
      e->items.push_back(std::move(key));
      e->values.push_back(expression());
      skip(false);
      if (peek() == ',') {
        ++i_;
        ++col_;
      } else if (peek() != '\n' && peek() != '}' && !(peek() == '/' || peek() == '#')) {
        fail("expected ',', a new line or '}' after the object item");
      }
    }
    ++i_;
    ++col_;
    --nest_;
    return e;
  }

  ExprPtr for_expr(Pos at, bool object) {
    auto e = node(Expr::Kind::kFor, at);
    e->object_for = object;
    i_ += 3;
    col_ += 3;
    skip(true);
    if (!id_start(peek())) fail("expected a variable name after 'for'");
    std::string first = ident();
    skip(true);
    if (peek() == ',') {
      ++i_;
      ++col_;
      skip(true);
      if (!id_start(peek())) fail("expected a second variable name after ','");
      e->key_var = first;
      e->value_var = ident();
      skip(true);
    } else {
      e->value_var = first;
    }
    if (!keyword_ahead("in")) fail("expected 'in' in the for expression");
    i_ += 2;
    col_ += 2;
    skip(true);
    e->a = expression();
    skip(true);
    if (peek() != ':') fail("expected ':' after the for expression's collection");
    ++i_;
    ++col_;
    skip(true);
    if (object) {
      e->b = expression();  // the key
      skip(true);
      if (t_.compare(i_, 2, "=>") != 0) fail("expected '=>' between key and value");
      i_ += 2;
      col_ += 2;
      skip(true);
      e->items.push_back(expression());  // the value
      skip(true);
      if (t_.compare(i_, 3, "...") == 0) {
        i_ += 3;
        col_ += 3;
        e->group = true;
        skip(true);
      }
    } else {
      e->b = expression();
      skip(true);
    }
    if (keyword_ahead("if")) {
      i_ += 2;
      col_ += 2;
      skip(true);
      e->c = expression();
      skip(true);
    }
    char close = object ? '}' : ']';
    if (peek() != close) fail(fmt::format("expected '{}' to end the for expression", close));
    ++i_;
    ++col_;
    --nest_;
    return e;
  }

  ExprPtr number() {
    Pos at = pos();
    size_t start = i_;
    while (std::isdigit(static_cast<unsigned char>(peek()))) advance_col();
    if (peek() == '.' && std::isdigit(static_cast<unsigned char>(peek(1)))) {
      advance_col();
      while (std::isdigit(static_cast<unsigned char>(peek()))) advance_col();
    }
    if (peek() == 'e' || peek() == 'E') {
      size_t save = i_;
      advance_col();
      if (peek() == '+' || peek() == '-') advance_col();
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        i_ = save;
      } else {
        while (std::isdigit(static_cast<unsigned char>(peek()))) advance_col();
      }
    }
    auto e = node(Expr::Kind::kLiteral, at);
    e->value = Value::number(number_text(start, at));
    return e;
  }

  // The number written from `start` to here; too large for a double is an error.
  double number_text(size_t start, Pos at) {
    std::string text = t_.substr(start, i_ - start);
    double n = std::strtod(text.c_str(), nullptr);
    if (std::isinf(n)) fail_at(at, fmt::format("the number {} is too large", text.substr(0, 40)));
    return n;
  }

  // --- templates ---

  // "...": a template (a literal when it has no ${...} or %{...}).
  ExprPtr quoted() {
    Pos at = pos();
    ++i_;  // '"'
    ++col_;
    auto e = node(Expr::Kind::kTemplate, at);
    e->parts = template_parts(true, {});
    if (peek() != '"') fail("a string is not closed: expected '\"'");
    ++i_;
    ++col_;
    return simplify(std::move(e));
  }

  // A template with nothing but literal text is a literal string.
  ExprPtr simplify(ExprPtr e) {
    bool literal = true;
    std::string text;
    for (const TemplatePart& p : e->parts) {
      if (p.kind != TemplatePart::Kind::kLiteral) literal = false;
      text += p.text;
    }
    if (!literal) return e;
    auto l = node(Expr::Kind::kLiteral, e->pos);
    l->value = Value::string(text);
    return l;
  }

  // Parts until the closing quote (quoted), the end of the text, or one of `ends` (directive
  // keywords: "else", "endif", "endfor"), which is left for the caller.
  std::vector<TemplatePart> template_parts(bool in_quotes, std::vector<const char*> ends,
                                           std::string* end_found = nullptr) {
    std::vector<TemplatePart> parts;
    std::string lit;
    // Strip markers trim whitespace within the neighbouring literal's nearest line only (up to
    // and including one new line), as HCL's scanner splits literals at new lines.
    auto flush = [&] {
      if (strip_next_) {
        size_t k = 0;
        while (k < lit.size() && (lit[k] == ' ' || lit[k] == '\t' || lit[k] == '\r')) ++k;
        if (k < lit.size() && lit[k] == '\n') ++k;
        lit.erase(0, k);
        strip_next_ = false;
      }
      if (!lit.empty()) {
        TemplatePart p;
        p.text = std::move(lit);
        parts.push_back(std::move(p));
      }
      lit.clear();
    };
    auto strip_before = [&] {
      flush();
      if (!parts.empty() && parts.back().kind == TemplatePart::Kind::kLiteral) {
        std::string& s = parts.back().text;
        size_t line_start = s.size() > 1 ? s.rfind('\n', s.size() - 2) : std::string::npos;
        line_start = line_start == std::string::npos ? 0 : line_start + 1;
        while (s.size() > line_start && is_space(s.back())) s.pop_back();
        if (s.empty()) parts.pop_back();
      }
    };
    for (;;) {
      if (eof()) {
        if (in_quotes) fail("a string is not closed: expected '\"'");
        break;
      }
      char c = peek();
      if (in_quotes && c == '"') break;
      if (in_quotes && c == '\n') fail("a quoted string cannot span lines; use a heredoc");
      if ((c == '$' || c == '%') && peek(1) == c && peek(2) == '{') {  // $${ and %%{
        lit += c;
        lit += '{';
        i_ += 3;
        col_ += 3;
        continue;
      }
      if (c == '$' && peek(1) == '{') {
        Pos at = pos();
        i_ += 2;
        col_ += 2;
        if (peek() == '~') {
          strip_before();
          advance_col();
        }
        flush();
        ++nest_;
        skip(true);
        TemplatePart p;
        p.kind = TemplatePart::Kind::kInterp;
        p.expr = expression();
        p.expr->pos = p.expr->pos.offset == 0 ? at : p.expr->pos;
        skip(true);
        close_directive("interpolation");
        --nest_;
        parts.push_back(std::move(p));
        continue;
      }
      if (c == '%' && peek(1) == '{') {
        size_t save = i_;
        int sl = line_, sc = col_;
        i_ += 2;
        col_ += 2;
        bool strip = false;
        if (peek() == '~') {
          strip = true;
          advance_col();
        }
        skip(true);
        for (const char* end : ends) {
          if (keyword_ahead(end)) {
            if (strip) strip_before();
            flush();
            i_ = save;
            line_ = sl;
            col_ = sc;
            if (end_found) *end_found = end;
            return parts;
          }
        }
        if (strip) strip_before();
        flush();
        parts.push_back(directive(in_quotes));
        continue;
      }
      if (in_quotes && c == '\\') {
        escape(lit);
        continue;
      }
      lit += c;
      advance();
    }
    flush();
    return parts;
  }

  void close_directive(const char* what) {
    if (peek() == '~') {
      advance_col();
      strip_next_ = true;
    }
    if (peek() != '}') fail(fmt::format("expected '}}' to close the {}", what));
    ++i_;
    ++col_;
  }

  // After "%{" (and "~"): if or for, up to its end directive.
  TemplatePart directive(bool in_quotes) {
    Pos at = pos();
    TemplatePart p;
    deeper(at, "template directives are");
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};
    ++nest_;
    if (keyword_ahead("if")) {
      i_ += 2;
      col_ += 2;
      skip(true);
      p.kind = TemplatePart::Kind::kIf;
      p.expr = expression();
      skip(true);
      close_directive("if directive");
      --nest_;
      std::string end;
      p.then_parts = template_parts(in_quotes, {"else", "endif"}, &end);
      if (end.empty()) fail_at(at, "this %{if} has no %{endif}");
      if (end == "else") {
        expect_directive("else");
        p.else_parts = template_parts(in_quotes, {"endif"}, &end);
        if (end != "endif") fail_at(at, "this %{if} has no %{endif}");
      }
      expect_directive("endif");
      return p;
    }
    if (keyword_ahead("for")) {
      i_ += 3;
      col_ += 3;
      skip(true);
      p.kind = TemplatePart::Kind::kFor;
      std::string first = ident();
      skip(true);
      if (peek() == ',') {
        advance_col();
        skip(true);
        p.key_var = first;
        p.value_var = ident();
        skip(true);
      } else {
        p.value_var = first;
      }
      if (!keyword_ahead("in")) fail("expected 'in' in the for directive");
      i_ += 2;
      col_ += 2;
      skip(true);
      p.expr = expression();
      skip(true);
      close_directive("for directive");
      --nest_;
      std::string end;
      p.then_parts = template_parts(in_quotes, {"endfor"}, &end);
      if (end != "endfor") fail_at(at, "this %{for} has no %{endfor}");
      expect_directive("endfor");
      return p;
    }
    fail("expected if or for after '%{' (else, endif and endfor close them)");
  }

  void expect_directive(const char* word) {
    i_ += 2;  // "%{"
    col_ += 2;
    if (peek() == '~') advance_col();
    skip(true);
    size_t n = std::strlen(word);
    i_ += n;
    col_ += static_cast<int>(n);
    skip(true);
    close_directive(word);
  }

  void escape(std::string& out) {
    Pos at = pos();
    char e = peek(1);
    i_ += 2;
    col_ += 2;
    switch (e) {
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case '"':
        out += '"';
        return;
      case '\\':
        out += '\\';
        return;
      case 'u':
      case 'U': {
        size_t n = e == 'u' ? 4 : 8;
        if (i_ + n > t_.size()) fail_at(at, "a \\u escape needs 4 hex digits (\\U: 8)");
        uint32_t cp = 0;
        for (size_t k = 0; k < n; ++k) {
          char h = t_[i_ + k];
          if (!std::isxdigit(static_cast<unsigned char>(h))) {
            fail_at(at, "a \\u escape needs 4 hex digits (\\U: 8)");
          }
          cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                   ? h - '0'
                                                   : (std::tolower(h) - 'a' + 10));
        }
        i_ += n;
        col_ += static_cast<int>(n);
        append_utf8(out, cp);
        return;
      }
      default:
        fail_at(at, fmt::format("unknown escape '\\{}'; use \\n \\r \\t \\\" \\\\ \\uNNNN", e));
    }
  }

  // <<EOF ... EOF and <<-EOF (indentation removed).
  ExprPtr heredoc() {
    Pos at = pos();
    i_ += 2;
    col_ += 2;
    bool flush_indent = false;
    if (peek() == '-') {
      flush_indent = true;
      advance_col();
    }
    if (!id_start(peek())) fail("expected the heredoc's delimiter (<<EOF)");
    std::string delim = ident();
    if (peek() == '\r') advance_col();
    if (peek() != '\n') fail("a heredoc's delimiter ends its line");
    advance();
    // The lines up to the delimiter's own line.
    size_t body_start = i_;
    size_t end = std::string::npos;
    size_t scan = i_;
    while (scan <= t_.size()) {
      size_t nl = t_.find('\n', scan);
      size_t line_end = nl == std::string::npos ? t_.size() : nl;
      std::string_view line(t_.data() + scan, line_end - scan);
      size_t k = 0;
      while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
      std::string_view rest = line.substr(k);
      if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
      if (rest == delim) {
        end = scan;
        break;
      }
      if (nl == std::string::npos) break;
      scan = nl + 1;
    }
    if (end == std::string::npos) fail_at(at, fmt::format("the heredoc has no closing {}", delim));
    std::string text = t_.substr(body_start, end - body_start);
    if (flush_indent) {
      size_t min = std::string::npos;
      size_t p = 0;
      while (p < text.size()) {
        size_t nl = text.find('\n', p);
        size_t le = nl == std::string::npos ? text.size() : nl;
        size_t k = p;
        while (k < le && (text[k] == ' ' || text[k] == '\t')) ++k;
        if (k < le) min = std::min(min, k - p);
        p = le + 1;
      }
      if (min != std::string::npos && min > 0) {
        std::string out;
        p = 0;
        while (p < text.size()) {
          size_t nl = text.find('\n', p);
          size_t le = nl == std::string::npos ? text.size() : nl + 1;
          size_t k = 0;
          while (k < min && p + k < le && (text[p + k] == ' ' || text[p + k] == '\t')) ++k;
          out.append(text, p + k, le - p - k);
          p = le;
        }
        text = std::move(out);
      }
    }
    // The body parses as a template of its own text (positions: the body's first line).
    Source sub{src_.name, text};
    Parser inner(sub);
    inner.line_ = line_;
    inner.nest_ = 0;
    inner.depth_ = depth_;  // a heredoc in a heredoc's interpolation nests too
    auto e = node(Expr::Kind::kTemplate, at);
    e->parts = inner.template_parts(false, {});
    retarget(e->parts);
    // Skip past the closing delimiter line.
    while (i_ < end) advance();
    size_t nl = t_.find('\n', end);
    while (i_ < (nl == std::string::npos ? t_.size() : nl)) advance_col();
    return simplify(std::move(e));
  }

  // Nodes parsed from a heredoc's own text point at this file for messages.
  void retarget(std::vector<TemplatePart>& parts) {
    for (TemplatePart& p : parts) {
      if (p.expr) retarget(*p.expr);
      retarget(p.then_parts);
      retarget(p.else_parts);
    }
  }
  void retarget(Expr& e) {
    e.src = &src_;
    for (ExprPtr* x : {&e.a, &e.b, &e.c}) {
      if (*x) retarget(**x);
    }
    for (ExprPtr& x : e.items) retarget(*x);
    for (ExprPtr& x : e.values) retarget(*x);
    retarget(e.parts);
  }

  // --- scanning ---

  bool eof() const { return i_ >= t_.size(); }
  char peek(size_t k = 0) const { return i_ + k < t_.size() ? t_[i_ + k] : '\0'; }
  Pos pos() const { return {line_, col_, i_}; }
  void advance() {
    if (t_[i_] == '\n') {
      ++line_;
      col_ = 1;
    } else if ((static_cast<unsigned char>(t_[i_]) & 0xC0) != 0x80) {
      ++col_;
    }
    ++i_;
  }
  void advance_col() {
    ++i_;
    ++col_;
  }

  std::string ident() {
    size_t start = i_;
    while (!eof() && id_char(peek())) advance();
    return t_.substr(start, i_ - start);
  }

  // Skips spaces and comments; new lines too when `newlines`.
  void skip(bool newlines) {
    for (;;) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
        advance();
      } else if (c == '#' || (c == '/' && peek(1) == '/')) {
        while (!eof() && peek() != '\n') advance();
      } else if (c == '/' && peek(1) == '*') {
        Pos at = pos();
        i_ += 2;
        col_ += 2;
        while (!eof() && !(peek() == '*' && peek(1) == '/')) advance();
        if (eof()) fail_at(at, "a /* comment is not closed");
        i_ += 2;
        col_ += 2;
      } else {
        return;
      }
    }
  }

  ExprPtr node(Expr::Kind k, Pos at) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = at;
    e->src = &src_;
    return e;
  }

  // One level deeper (a block, a bracket, an operator over its operand, a traversal, a
  // directive); the caller takes it back (depth_ -= levels) unless it throws.
  void deeper(Pos at, const char* what) {
    if (++depth_ > kMaxDepth) {
      fail_at(at, fmt::format("{} nested too deeply: more than {} levels (the limit on nesting); "
                              "split it into smaller parts (locals, steps)",
                              what, kMaxDepth));
    }
  }

  [[noreturn]] void fail(const std::string& msg) { fail_at(pos(), msg); }
  [[noreturn]] void fail_at(Pos at, const std::string& msg) { throw Error(src_, at, msg); }

  const Source& src_;
  const std::string& t_;
  size_t i_ = 0;
  int line_ = 1, col_ = 1;
  int nest_ = 0;  // inside (), [], {} of an expression: new lines are spaces
  // Nesting, bounded: a hostile file cannot exhaust the stack here, nor in the evaluator and the
  // destructors, which recurse over the same tree.
  int depth_ = 0;
  static constexpr int kMaxDepth = 200;
  // Brackets, operators over their operands, traversals and interpolations count as levels.
  static constexpr const char* kExprNesting = "the expression is";
  bool strip_next_ = false;

  friend File parse_file(std::string text, std::string name);
  friend ExprPtr parse_expression(const Source& src);
  friend ExprPtr parse_template(const Source& src);
};

}  // namespace

File parse_file(std::string text, std::string name) {
  File f;
  f.source = std::make_shared<Source>(Source{std::move(name), std::move(text)});
  Parser p(*f.source);
  f.body = p.body(true);
  return f;
}

ExprPtr parse_expression(const Source& src) {
  Parser p(src);
  p.nest_ = 1;  // a lone expression may span lines
  p.skip(true);
  ExprPtr e = p.expression();
  p.skip(true);
  if (!p.eof()) p.fail("unexpected text after the expression");
  return e;
}

ExprPtr parse_template(const Source& src) {
  Parser p(src);
  auto e = p.node(Expr::Kind::kTemplate, {});
  e->parts = p.template_parts(false, {});
  return p.simplify(std::move(e));
}

}  // namespace spiker::hcl
