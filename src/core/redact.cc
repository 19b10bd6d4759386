#include "core/redact.h"

#include <algorithm>
#include <cctype>

namespace spiker {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string>& user_names() {
  static std::vector<std::string> names;
  return names;
}

}  // namespace

bool is_secret_name(std::string_view name) {
  std::string n = lower(name);
  for (std::string_view part : {"auth", "token", "key", "secret", "session", "password", "passwd",
                                "cookie", "credential", "signature"}) {
    if (n.find(part) != std::string::npos) return true;
  }
  const std::vector<std::string>& extra = user_names();
  return std::find(extra.begin(), extra.end(), n) != extra.end();
}

void add_secret_names(const std::vector<std::string>& names) {
  for (const std::string& n : names) user_names().push_back(lower(n));
}

std::string redact_url(std::string_view url) {
  std::string out;
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t authority_end = url.find_first_of("/?#", start);
  std::string_view authority =
      url.substr(start, authority_end == std::string_view::npos ? url.npos : authority_end - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos && authority_end != std::string_view::npos &&
      url.find('@', authority_end) != std::string_view::npos) {
    // A password with an unencoded '/', '?' or '#' ends the authority early: the user-info runs
    // to the last '@'. Web URLs may have '@' in their paths; there only when the "port" is not
    // a number (it is the password's first part).
    std::string_view sch = url.substr(0, scheme == std::string_view::npos ? 0 : scheme);
    bool web = sch == "http" || sch == "https" || sch == "ws" || sch == "wss";
    size_t colon = authority.rfind(':');
    bool odd_port =
        colon != std::string_view::npos &&
        authority.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos;
    if (!web || odd_port) {
      size_t last = url.rfind('@');
      authority_end = url.find_first_of("/?#", last);
      authority = url.substr(
          start, authority_end == std::string_view::npos ? url.npos : authority_end - start);
      at = authority.rfind('@');
    }
  }
  out.append(url.substr(0, start));
  if (at != std::string_view::npos) {
    out.append(kRedacted);
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  if (authority_end == std::string_view::npos) return out;
  std::string_view rest = url.substr(authority_end);
  size_t q = rest.find('?');
  if (q == std::string_view::npos) return out.append(rest);
  out.append(rest.substr(0, q + 1));
  std::string_view query = rest.substr(q + 1);
  size_t hash = query.find('#');
  std::string_view fragment = hash == std::string_view::npos ? "" : query.substr(hash);
  query = query.substr(0, hash);
  bool first = true;
  while (true) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (!first) out += '&';
    first = false;
    if (eq != std::string_view::npos && is_secret_name(pair.substr(0, eq))) {
      out.append(pair.substr(0, eq + 1));
      out.append(kRedacted);
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return out.append(fragment);
}

std::string redact_urls_in(std::string_view text, size_t* col) {
  std::string out;
  size_t done = 0;  // text before this is in `out`
  size_t from = 0;
  for (;;) {
    size_t sep = text.find("://", from);
    if (sep == std::string_view::npos) break;
    size_t begin = sep;
    while (begin > done &&
           (std::isalnum(static_cast<unsigned char>(text[begin - 1])) != 0 ||
            text[begin - 1] == '+' || text[begin - 1] == '-' || text[begin - 1] == '.')) {
      --begin;
    }
    size_t end = sep + 3;
    while (end < text.size() && std::isspace(static_cast<unsigned char>(text[end])) == 0 &&
           text[end] != '"' && text[end] != '\'' && text[end] != '`') {
      ++end;
    }
    std::string url = redact_url(text.substr(begin, end - begin));
    out.append(text.substr(done, begin - done));
    if (col != nullptr && *col >= end) {
      *col = *col + url.size() - (end - begin);
    } else if (col != nullptr && *col > begin) {
      *col = out.size();  // inside the URL: its start
    }
    out += url;
    done = from = end;
  }
  out.append(text.substr(done));
  return out;
}

}  // namespace spiker
