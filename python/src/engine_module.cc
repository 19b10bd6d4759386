// loadspiker._engine: the C++ engine for the Python package. `run` is `loadspiker run` in this
// process (the Python front end hands it a TOML plan and flags, gets the JSON result back), with
// the GIL released while the workers run; `Client` (client_module.cc) serves Python user code.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "cli/embedded_run.h"
#include "metrics/histogram_codec.h"
#include "metrics/snapshot.h"
#include "proto/protocol.h"
#include "report/json_result.h"
#include "report/outputs.h"

namespace py = pybind11;

namespace spiker::python {

void add_client(py::module_& m);

// The live state as a dict: what a progress bar shows.
py::dict live_dict(const metrics::LiveState& s) {
  py::dict d;
  const metrics::Shard* t = s.totals;
  const metrics::Shard* w = s.window;
  d["elapsed_s"] = s.elapsed_s;
  d["duration_s"] = s.duration_s;
  d["requests"] = t != nullptr ? t->requests : 0;
  d["failed"] = t != nullptr ? t->failed : 0;
  d["rps"] = s.window_rps;
  d["vus"] = s.vus;
  d["in_flight"] = s.in_flight;
  d["p50_ms"] = w != nullptr ? static_cast<double>(w->latency_us.value_at_percentile(50)) / 1e3 : 0;
  d["p95_ms"] = w != nullptr ? static_cast<double>(w->latency_us.value_at_percentile(95)) / 1e3 : 0;
  d["p99_ms"] = w != nullptr ? static_cast<double>(w->latency_us.value_at_percentile(99)) / 1e3 : 0;
  d["finished"] = s.finished;
  d["stopping"] = s.stopping;
  d["warming_up"] = s.warming_up;
  return d;
}

namespace {

py::dict run(const std::vector<std::string>& flags, const std::string& config_text,
             const std::string& config_name,
             const std::vector<std::pair<std::string, std::string>>& flag_names,
             const py::object& on_progress) {
  cli::RunHooks hooks;
  hooks.config_text = config_text;
  hooks.config_name = config_name;
  hooks.flag_names = flag_names;
  std::string callback_error;
  if (!on_progress.is_none()) {
    hooks.on_progress = [&](const metrics::LiveState& s) {
      py::gil_scoped_acquire gil;
      if (!callback_error.empty()) return;
      try {
        on_progress(live_dict(s));
      } catch (py::error_already_set& e) {  // reported after the run; the run goes on
        callback_error = e.what();
      }
    };
  }
  cli::EmbeddedResult r;
  {
    py::gil_scoped_release release;
    r = cli::run_embedded(flags, hooks);
  }
  py::dict out;
  out["exit_code"] = r.exit_code;
  out["json"] = r.json;
  out["error"] = r.error;
  out["interrupted"] = r.interrupted;
  out["callback_error"] = callback_error;
  return out;
}

// The registered protocols: what Python front ends offer as methods and step actions.
py::list protocols() {
  proto::register_protocols();
  py::list out;
  for (const proto::Protocol* p : proto::Registry::all()) {
    py::list actions;
    for (const proto::ActionDef& a : p->actions) {
      py::dict d;
      d["name"] = a.name;
      d["keys"] = a.keys;
      d["sends"] = a.sends;
      d["receives"] = a.receives;
      actions.append(d);
    }
    py::dict d;
    d["name"] = p->name;
    d["schemes"] = p->schemes;
    d["summary"] = p->summary;
    d["actions"] = actions;
    out.append(d);
  }
  return out;
}

// A saved result's JSON in the format of `path`'s extension (.json .csv .md .html .xml ...).
std::string render(const std::string& json, const std::string& path, const std::string& format) {
  return report::render(json, report::format_for(path, format));
}

// The value at percentile `p` of a result's histogram (HdrHistogram V2, base64), exactly.
int64_t percentile(const std::string& histogram_b64, double p) {
  return metrics::decode_v2(metrics::base64_decode(histogram_b64)).value_at_percentile(p);
}

}  // namespace
}  // namespace spiker::python

PYBIND11_MODULE(_engine, m) {
  m.doc() = "LoadSpiker's C++ engine (use the loadspiker package, not this module)";
  m.attr("version") = spiker::report::kVersion;
  m.def("run", &spiker::python::run, py::arg("flags"), py::arg("config_text"),
        py::arg("config_name"), py::arg("flag_names"), py::arg("on_progress"),
        "Runs `loadspiker run FLAGS` with CONFIG_TEXT as its config; returns exit_code, json, "
        "error, interrupted");
  m.def("protocols", &spiker::python::protocols);
  m.def("percentile", &spiker::python::percentile, py::arg("histogram"), py::arg("p"));
  m.def("render", &spiker::python::render, py::arg("json"), py::arg("path"),
        py::arg("format") = "");
  spiker::python::add_client(m);
}
