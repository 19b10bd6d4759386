#include <algorithm>
#include <cerrno>
#include <deque>

#include "core/transport.h"
#include "core/url.h"
#include "proto/protocol.h"

namespace spiker::proto {
namespace {

struct Store {
  std::deque<Protocol> protocols;
  std::vector<const Protocol*> list;
};

Store& store() {
  static Store s;
  return s;
}

}  // namespace

metrics::ErrorKind classify_errno(int err) noexcept {
  using metrics::ErrorKind;
  switch (err) {
    case Transport::kTlsError:
      return ErrorKind::kTls;
    case Transport::kProxyError:  // the proxy would not (or could not) reach the host
      return ErrorKind::kConnect;
    case ECONNREFUSED:
      return ErrorKind::kRefused;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      return ErrorKind::kReset;
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL:
      return ErrorKind::kConnect;
    default:
      return ErrorKind::kOther;
  }
}

const Protocol& Registry::add(Protocol p) {
  Store& s = store();
  for (const Protocol& q : s.protocols) {
    if (q.name == p.name) return q;
  }
  if (p.default_port != 0) {
    for (const std::string& scheme : p.schemes) set_default_port(scheme, p.default_port);
  }
  p.index = static_cast<uint16_t>(s.protocols.size());
  s.protocols.push_back(std::move(p));
  s.list.push_back(&s.protocols.back());
  return s.protocols.back();
}

const std::vector<const Protocol*>& Registry::all() { return store().list; }

const Protocol* Registry::by_scheme(std::string_view scheme) {
  for (const Protocol* p : store().list) {
    for (const std::string& s : p->schemes) {
      if (s == scheme) return p;
    }
  }
  return nullptr;
}

const Protocol& Registry::at(uint16_t index) { return *store().list.at(index); }

const Protocol* Registry::by_name(std::string_view name) {
  for (const Protocol* p : store().list) {
    if (p->name == name) return p;
  }
  return nullptr;
}

const Protocol* Registry::by_action(std::string_view action, int* index, std::string_view scheme) {
  const Protocol* first = nullptr;
  int first_index = -1;
  for (const Protocol* p : store().list) {
    for (size_t i = 0; i < p->actions.size(); ++i) {
      if (p->actions[i].name != action) continue;
      if (std::find(p->schemes.begin(), p->schemes.end(), scheme) != p->schemes.end()) {
        *index = static_cast<int>(i);
        return p;
      }
      if (first == nullptr) {
        first = p;
        first_index = static_cast<int>(i);
      }
    }
  }
  if (first != nullptr) *index = first_index;
  return first;
}

std::string Registry::scheme_list() {
  std::string out;
  for (const Protocol* p : store().list) {
    for (const std::string& s : p->schemes) out += (out.empty() ? "" : ", ") + s + "://";
  }
  return out;
}

}  // namespace spiker::proto
