// loadspiker._engine.Client: the engine's client for Python user code (async VUs, one-off calls).
// Python submits requests and collects whole responses when `wake_fd` is readable; the I/O,
// parsing, cookies, redirects and metrics are the engine's, on its own thread.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "engine/client.h"
#include "report/json_result.h"

namespace py = pybind11;

namespace spiker::python {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<engine::Client> make_client(bool insecure, const std::string& cacert,
                                            int64_t connect_timeout_ms, int max_redirects) {
  engine::ClientOptions o;
  o.tls.insecure = insecure;
  o.tls.cacert = cacert;
  o.connect_timeout_ns = connect_timeout_ms * 1'000'000;
  o.max_redirects = max_redirects;
  return std::make_unique<engine::Client>(o);
}

void submit(engine::Client& c, uint64_t id, uint32_t vu, std::string method, std::string url,
            Headers headers, const py::object& body, int64_t timeout_ms, std::string name,
            bool cookies, bool record, std::string action, Headers options) {
  engine::ClientRequest r;
  r.id = id;
  r.vu = vu;
  r.method = std::move(method);
  r.url = std::move(url);
  r.headers = std::move(headers);
  if (!body.is_none()) {
    r.has_body = true;
    r.body = py::isinstance<py::bytes>(body) ? std::string(body.cast<py::bytes>())
                                             : body.cast<std::string>();
  }
  r.timeout_ns = timeout_ms * 1'000'000;
  r.name = std::move(name);
  r.cookies = cookies;
  r.record = record;
  r.action = std::move(action);
  r.options = std::move(options);
  c.submit(std::move(r));
}

py::list take(engine::Client& c) {
  std::vector<engine::ClientResponse> done;
  {
    py::gil_scoped_release release;
    done = c.take();
  }
  py::list out;
  for (engine::ClientResponse& r : done) {
    out.append(py::make_tuple(r.id, r.ok, r.error, r.status, r.headers, py::bytes(r.body),
                              r.latency_us, r.url, r.refused, r.rows));
  }
  return out;
}

py::dict stats(engine::Client& c) {
  engine::ClientStats s;
  {
    py::gil_scoped_release release;
    s = c.stats();
  }
  const metrics::Shard& t = *s.totals;
  py::dict d;
  d["elapsed_s"] = s.elapsed_s;
  d["requests"] = t.requests;
  d["failed"] = t.failed;
  d["rps"] = s.timeline.empty() ? 0.0 : static_cast<double>(s.timeline.back().requests);
  d["p50_ms"] = static_cast<double>(t.latency_us.value_at_percentile(50)) / 1e3;
  d["p95_ms"] = static_cast<double>(t.latency_us.value_at_percentile(95)) / 1e3;
  d["p99_ms"] = static_cast<double>(t.latency_us.value_at_percentile(99)) / 1e3;
  return d;
}

// The JSON result of what the client measured since its last reset, as `loadspiker run` writes
// it for a closed-model run of `vus` user-code VUs.
std::string result_json(engine::Client& c, const std::string& title, int vus, double duration_s,
                        bool interrupted) {
  engine::ClientStats s;
  {
    py::gil_scoped_release release;
    s = c.stats();
  }
  report::RunReport rep;
  rep.info.title = title;
  rep.info.url =
      s.names.empty() ? "" : s.names.front().second.substr(s.names.front().second.find(' ') + 1);
  rep.info.concurrency = vus;
  rep.info.max_vus = static_cast<uint64_t>(vus);
  rep.info.threads = 1;
  rep.info.executor = "constant-vus";
  rep.info.duration_secs = duration_s;
  for (const auto& [name, what] : s.names) {
    size_t space = what.find(' ');
    rep.info.scenarios.push_back(
        {name, what.substr(space + 1), what.substr(0, space), "", 1, {}, ""});
  }
  if (s.names.size() == 1) rep.info.scenarios.clear();  // one request: the run's own numbers
  rep.totals = s.totals.get();
  rep.timeline = &s.timeline;
  rep.elapsed_s = s.elapsed_s;
  rep.measured_s = s.elapsed_s;
  rep.started_unix_ms = s.started_unix_ms;
  rep.ended_unix_ms = now_unix_ms();
  rep.interrupted = interrupted;
  return report::to_json(rep);
}

}  // namespace

void add_client(py::module_& m) {
  py::register_exception<SetupError>(m, "SetupError", PyExc_ValueError);
  py::class_<engine::Client>(m, "Client")
      .def(py::init(&make_client), py::arg("insecure") = false, py::arg("cacert") = "",
           py::arg("connect_timeout_ms") = 2000, py::arg("max_redirects") = 10)
      .def("submit", &submit, py::arg("id"), py::arg("vu"), py::arg("method"), py::arg("url"),
           py::arg("headers"), py::arg("body"), py::arg("timeout_ms"), py::arg("name") = "",
           py::arg("cookies") = true, py::arg("record") = true, py::arg("action") = "",
           py::arg("options") = Headers{})
      .def("take", &take)
      .def_property_readonly("wake_fd", &engine::Client::wake_fd)
      .def("reset_stats", &engine::Client::reset_stats, py::call_guard<py::gil_scoped_release>())
      .def("stats", &stats)
      .def("forget_vu", &engine::Client::forget_vu)
      .def("result_json", &result_json, py::arg("title"), py::arg("vus"), py::arg("duration_s"),
           py::arg("interrupted") = false);
}

}  // namespace spiker::python
