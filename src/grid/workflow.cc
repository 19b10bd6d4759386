#include "grid/workflow.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/strings.h"
#include "engine/client.h"
#include "grid/internal.h"
#include "proto/protocol.h"

namespace spiker::grid {
namespace {

std::atomic<int> g_interrupts{0};
void on_interrupt(int) { g_interrupts.fetch_add(1); }

using hcl::Value;

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// A graphql runner's request body: {"query", "variables", "operationName"}.
std::string graphql_body(const Value& args) {
  Value::Fields body;
  if (const Value* q = args.field("query")) body["query"] = *q;
  if (const Value* v = args.field("variables"); v && !v->is_null()) body["variables"] = *v;
  if (const Value* o = args.field("operation_name"); o && !o->is_null()) {
    body["operationName"] = *o;
  }
  return hcl::to_json(Value::object(std::move(body)));
}

std::string text_of(const Value& v) {
  if (v.is_null()) return "null";
  std::string s;
  if (hcl::to_string(v, &s)) return s;
  return hcl::to_json(v);
}

struct Instance;

// A step group (a step block, all its count instances) or a resource while the run goes.
struct Node {
  enum class State : uint8_t { kWaiting, kRunning, kDone, kFailed, kSkipped };
  State state = State::kWaiting;
  size_t deps_left = 0;
  std::vector<size_t> users;  // nodes that depend on this one
  size_t instances = 0, finished = 0;
  std::vector<Value> outputs;     // per instance
  std::vector<std::string> keys;  // for_each: each instance's each.key
  Value value;                    // what `step.R.N` / `resource.T.N` reads, once done
  uint32_t vu = 0;                // resources: the client's VU (connection pool and cookies)
  Value resource_args;            // resources: their arguments
  size_t users_left = 0;          // resources: users not finished
  // socketio_client: its connection is opened by its first user; users take turns on it.
  bool sio_connected = false, sio_busy = false;
  std::deque<std::unique_ptr<Instance>> sio_queue;
};

struct Instance {
  size_t node = 0;
  int index = -1;    // count.index, or the for_each instance's place (keys sorted)
  std::string each;  // for_each: each.key
  uint32_t vu = 0;
  bool own_vu = true;
  int64_t started_ns = 0;
  Value args;
  std::unique_ptr<hcl::Context> ctx;
  std::atomic<pid_t> pid{0};  // cmd: its process, once started
  bool cancelled = false;
  // Socket.IO: where the exchange is (a state of Sio), on which connection.
  int sio = -1;
  int sio_after_pong = -1;
  std::string sio_url, sio_ns;
  size_t sio_resource = SIZE_MAX;  // socketio_request: the socketio_client node
  int64_t sio_deadline_ns = 0;
  int attempt = 1;          // retry: this try's number
  bool delay_done = false;  // delay_before waited (or none)
  Value sio_result;
};

class Workflow {
 public:
  Workflow(const Grid& g, const WorkflowOptions& o) : g_(g), o_(o), client_(client_options()) {
    nodes_ = std::vector<Node>(g.steps.size());  // made in place: Node does not copy
    for (size_t i = 0; i < g.steps.size(); ++i) {
      nodes_[i].deps_left = g.steps[i].deps.size();
      for (size_t d : g.steps[i].deps) {
        nodes_[d].users.push_back(i);
        if (g.steps[d].resource) ++nodes_[d].users_left;
      }
    }
    cmd_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~Workflow() {
    for (auto& t : threads_) t.join();
    ::close(cmd_fd_);
  }

  WorkflowResult run() {
    struct sigaction sa {
    }, old_int{}, old_term{};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_interrupts.store(0);
    int64_t start = mono_now_ns();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].deps_left == 0) ready_.push_back(i);
    }
    for (;;) {
      if (g_interrupts.load() > 0 && !failed_) {
        result_.interrupted = true;
        fail_fast("interrupted");
      }
      launch();
      if (in_flight_ == 0 && (ready_.empty() || failed_) && queued_.empty() && delayed_.empty() &&
          finishing_.empty()) {
        break;
      }
      wait();
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {  // what never started
      if (nodes_[i].state == Node::State::kWaiting && !g_.steps[i].resource) {
        StepReport r;
        r.key = g_.steps[i].key();
        r.status = "skipped";
        r.error = "a step it depends on failed or was cancelled";
        log(r);
        result_.steps.push_back(std::move(r));
      }
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    result_.elapsed_s = static_cast<double>(mono_now_ns() - start) / 1e9;
    result_.exit_code = failed_ ? (result_.interrupted ? kExitInterrupted : kExitError) : kExitOk;
    return std::move(result_);
  }

 private:
  static engine::ClientOptions client_options() {
    engine::ClientOptions c;
    c.max_redirects = 10;
    return c;
  }

  // Starts ready nodes' instances while fewer than `workers` are in flight.
  void launch() {
    while (!failed_ && (!queued_.empty() || !ready_.empty())) {
      if (queued_.empty()) {
        size_t n = ready_.front();
        ready_.pop_front();
        start_node(n);
        continue;
      }
      if (in_flight_ >= static_cast<size_t>(std::max(1, o_.workers))) return;
      std::unique_ptr<Instance> in = std::move(queued_.front());
      queued_.pop_front();
      int64_t delay = g_.steps[in->node].options.delay_before_ns;
      if (delay > 0 && !in->delay_done) {  // delay_before: waits, holding no worker
        in->delay_done = true;
        delayed_.emplace(mono_now_ns() + delay, std::move(in));
        continue;
      }
      start_instance(std::move(in));
    }
  }

  // The context a node's expressions see: the base (var, local, functions) plus the step and
  // resource values of its dependencies only.
  std::unique_ptr<hcl::Context> node_context(size_t n) {
    auto ctx = std::make_unique<hcl::Context>(&g_.base);
    std::map<std::string, Value::Fields> steps, resources;
    for (size_t d : g_.steps[n].deps) {
      const StepDef& s = g_.steps[d];
      (s.resource ? resources : steps)[s.runner][s.name] = nodes_[d].value;
    }
    auto nest = [](std::map<std::string, Value::Fields>& m) {
      Value::Fields out;
      for (auto& [k, v] : m) out[k] = Value::object(std::move(v));
      return Value::object(std::move(out));
    };
    ctx->set("step", nest(steps));
    ctx->set("resource", nest(resources));
    return ctx;
  }

  void start_node(size_t n) {
    const StepDef& s = g_.steps[n];
    Node& node = nodes_[n];
    node.state = Node::State::kRunning;
    std::unique_ptr<hcl::Context> ctx = node_context(n);
    size_t count = 1;
    bool counted = s.repeated();
    std::vector<std::pair<std::string, Value>> each;
    if (const hcl::Expr* e = s.options.enabled) {
      bool on = true;
      try {
        if (!hcl::to_bool(hcl::evaluate(*e, *ctx), &on)) {
          throw hcl::Error(*s.src, start_of(*e), "enabled is true or false");
        }
      } catch (const SetupError& ex) {
        node_failed(n, -1, ex.what());
        return;
      }
      if (!on) {  // as burstgridgo's enabled = false: not run; its output is null
        StepReport r;
        r.key = s.key();
        r.status = "skipped";
        r.error = "enabled is false";
        log(r);
        result_.steps.push_back(std::move(r));
        node.instances = 0;
        finish_node(n);
        return;
      }
    }
    try {
      if (s.count != nullptr) count = count_of(s, hcl::evaluate(*s.count, *ctx));
      if (s.for_each != nullptr) {
        each = for_each_of(s, hcl::evaluate(*s.for_each, *ctx));
        count = each.size();
      }
      if (!s.resource) {
        instances_ += count;
        if (instances_ > kMaxCount) throw too_many_instances(s, instances_);
      }
    } catch (const SetupError& e) {
      node_failed(n, -1, e.what());
      return;
    }
    if (s.resource) {
      try {
        node.resource_args = arguments(n, *ctx);
      } catch (const SetupError& e) {
        node_failed(n, -1, e.what());
        return;
      }
      node.vu = next_vu_++;
      Value::Fields f;
      f["id"] = Value::number(node.vu);
      node.value = Value::object(std::move(f));
      node.state = Node::State::kDone;
      node_done(n);
      return;
    }
    node.instances = count;
    node.outputs.assign(count, Value());
    for (const auto& [k, v] : each) node.keys.push_back(k);
    if (count == 0) {
      finish_node(n);
      return;
    }
    for (size_t i = 0; i < count; ++i) {
      auto in = std::make_unique<Instance>();
      in->node = n;
      in->index = counted ? static_cast<int>(i) : -1;
      in->ctx = std::make_unique<hcl::Context>(ctx.get());
      if (s.count != nullptr) {
        Value::Fields c;
        c["index"] = Value::number(static_cast<double>(i));
        in->ctx->set("count", Value::object(std::move(c)));
      }
      if (s.for_each != nullptr) {
        in->each = each[i].first;
        Value::Fields e;
        e["key"] = Value::string(each[i].first);
        e["value"] = each[i].second;
        in->ctx->set("each", Value::object(std::move(e)));
      }
      queued_.push_back(std::move(in));
    }
    contexts_.push_back(std::move(ctx));
  }

  // The step's arguments, checked against its manifest; its `uses` as "uses.NAME".
  Value arguments(size_t n, const hcl::Context& ctx) {
    const StepDef& s = g_.steps[n];
    Value args = step_arguments(g_, s, ctx);
    if (s.uses == nullptr) return args;
    Value::Fields out = args.fields();
    for (const hcl::Attribute& a : s.uses->attributes) {
      out["uses." + a.name] = hcl::evaluate(*a.expr, ctx);
    }
    return Value::object(std::move(out));
  }

  static std::string str_arg(const Value& args, const char* name) {
    const Value* v = args.field(name);
    std::string s;
    if (v == nullptr || v->is_null() || !hcl::to_string(*v, &s)) return "";
    return s;
  }

  void start_instance(std::unique_ptr<Instance> in) {
    size_t n = in->node;
    const StepDef& s = g_.steps[n];
    in->started_ns = mono_now_ns();
    try {
      in->args = arguments(n, *in->ctx);
    } catch (const SetupError& e) {
      instance_failed(*in, e.what());
      return;
    }
    // The client resource it uses: its VU (shared connections and cookies); without one, the
    // default client's (VU 0: a pool of kept-alive connections, as an HTTP client library has).
    in->vu = 0;
    in->own_vu = false;
    if (const Value* c = in->args.field("uses.client"); c != nullptr && c->is_mapping()) {
      if (const Value* id = c->field("id")) {
        in->vu = static_cast<uint32_t>(id->as_number());
        in->own_vu = false;
      }
    }
    const std::string& runner = s.runner;
    try {
      if (runner == "print") {
        const Value* v = in->args.field("input");
        std::string text = s.options.sensitive ? kRedacted
                           : v != nullptr && v->type() == hcl::Type::kString
                               ? v->as_string()
                               : nlohmann::json::parse(hcl::to_json(v ? *v : Value())).dump(2);
        std::fprintf(o_.print_out, "[%s%s] %s\n", s.key().c_str(), index_text(*in).c_str(),
                     text.c_str());
        std::fflush(o_.print_out);
        instance_done(*in, Value());
        return;
      }
      if (runner == "env_vars") {
        instance_env(*in);
        return;
      }
      if (runner == "cmd") {
        start_cmd(std::move(in));
        return;
      }
      if (runner == "socketio" || runner == "socketio_request") {
        start_socketio(std::move(in));
        return;
      }
      if (runner == "http_request" || runner == "s3" || runner == "graphql") {
        start_http(*in);
      } else {
        start_protocol(*in);
      }
    } catch (const SetupError& e) {
      instance_failed(*in, e.what());
      return;
    }
    ++in_flight_;
    uint64_t id = next_request_++;
    running_[id] = std::move(in);
  }

  static std::string index_text(const Instance& in) { return instance_suffix(in.index, in.each); }

  // A report of instance `in` (its step, its count.index or each.key).
  StepReport report_of(const Instance& in) const {
    StepReport r;
    r.key = g_.steps[in.node].key();
    r.index = in.each.empty() ? in.index : -1;
    r.each = in.each;
    return r;
  }

  const Value* client_args(const Instance& in) const {
    const Value* c = in.args.field("uses.client");
    if (c == nullptr || !c->is_mapping()) return nullptr;
    for (size_t d : g_.steps[in.node].deps) {
      if (g_.steps[d].resource && nodes_[d].vu == in.vu) return &nodes_[d].resource_args;
    }
    return nullptr;
  }

  int64_t timeout_ms(const Instance& in) {
    std::string t = str_arg(in.args, "timeout");
    if (t.empty()) {
      if (const Value* c = client_args(in)) t = str_arg(*c, "timeout");
    }
    if (t.empty()) t = "30s";
    int64_t ms = duration_ns(t, "timeout") / 1'000'000;
    if (int64_t limit = g_.steps[in.node].options.execution_timeout_ns; limit > 0) {
      ms = std::min(ms, std::max<int64_t>(1, limit / 1'000'000));  // timeouts.execution
    }
    return ms;
  }

  void start_http(Instance& in) {
    const StepDef& s = g_.steps[in.node];
    std::string url = str_arg(in.args, "url");
    std::vector<std::pair<std::string, std::string>> headers;
    const Value* client = client_args(in);
    if (client != nullptr) {
      std::string base = str_arg(*client, "base_url");
      if (!base.empty() && url.find("://") == std::string::npos) {
        url = (base.ends_with("/") ? base.substr(0, base.size() - 1) : base) +
              (url.starts_with("/") ? url : "/" + url);
      }
      if (const Value* h = client->field("headers"); h && h->is_mapping()) {
        for (const auto& [k, v] : h->fields()) headers.emplace_back(k, text_of(v));
      }
    }
    if (const Value* q = in.args.field("query"); q && q->is_mapping() && q->size() > 0) {
      std::string qs;
      for (const auto& [k, v] : q->fields()) {
        qs += (qs.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(text_of(v));
      }
      url += (url.find('?') == std::string::npos ? "?" : "&") + qs;
    }
    if (const Value* h = in.args.field("headers"); h && h->is_mapping()) {
      for (const auto& [k, v] : h->fields()) headers.emplace_back(k, text_of(v));
    }
    std::string method = s.runner == "s3"        ? "PUT"
                         : s.runner == "graphql" ? "POST"
                                                 : str_arg(in.args, "method");
    for (char& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    std::optional<std::string> body;
    if (s.runner == "s3") {
      body = str_arg(in.args, "body");
      headers.emplace_back("Content-Type", str_arg(in.args, "content_type"));
    } else if (s.runner == "graphql") {
      body = graphql_body(in.args);
      headers.emplace_back("Content-Type", "application/json");
    } else if (const Value* j = in.args.field("json"); j && !j->is_null()) {
      body = hcl::to_json(*j);
      headers.emplace_back("Content-Type", "application/json");
    } else if (const Value* f = in.args.field("form"); f && f->is_mapping()) {
      std::string form;
      for (const auto& [k, v] : f->fields()) {
        form += (form.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(text_of(v));
      }
      body = form;
      headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    } else if (const Value* b = in.args.field("body"); b && !b->is_null()) {
      body = text_of(*b);
    }
    if (const Value* a = in.args.field("auth"); a && a->is_mapping()) {
      if (const Value* bearer = a->field("bearer")) {
        headers.emplace_back("Authorization", "Bearer " + text_of(*bearer));
      }
    }
    engine::ClientRequest r;
    r.id = next_request_;
    r.vu = in.vu;
    r.method = method.empty() ? "GET" : method;
    r.url = url;
    r.headers = std::move(headers);
    if (body) {
      r.body = *body;
      r.has_body = true;
    }
    r.timeout_ns = timeout_ms(in) * 1'000'000;
    r.name = s.key();
    client_.submit(std::move(r));
  }

  void start_protocol(Instance& in) {
    const StepDef& s = g_.steps[in.node];
    std::string action = str_arg(in.args, "action");
    engine::ClientRequest r;
    r.id = next_request_;
    r.vu = in.vu;
    r.url = str_arg(in.args, "url");
    r.action = protocol_action(s.runner, action);
    if (const Value* b = in.args.field("body"); b && !b->is_null()) {
      r.body = text_of(*b);
      r.has_body = true;
    }
    const ModuleDef& m = g_.runners.at(s.runner);
    for (const auto& [name, def] : m.inputs) {
      if (name == "url" || name == "action" || name == "body" || name == "timeout") continue;
      const Value* v = in.args.field(name);
      if (v == nullptr || v->is_null()) continue;
      if (name == "headers") {
        for (const auto& [k, x] : v->fields()) r.headers.emplace_back(k, text_of(x));
        continue;
      }
      if (v->is_sequence()) {  // params = ["a", 2]: one value each, in order
        for (const Value& item : v->items()) r.options.emplace_back(name, text_of(item));
      } else {
        r.options.emplace_back(name, text_of(*v));
      }
    }
    r.timeout_ns = timeout_ms(in) * 1'000'000;
    r.name = s.key();
    client_.submit(std::move(r));
  }

  void instance_env(Instance& in) {
    std::string missing;
    Value out = env_vars_output(in.args, g_.env, &missing);
    if (!missing.empty()) {
      instance_failed(in, "required environment variables are not set: " + missing);
      return;
    }
    instance_done(in, std::move(out));
  }

  // cmd: fork and exec with pipes on a thread of its own; killed at its timeout or on cancel.
  void start_cmd(std::unique_ptr<Instance> in) {
    const Value* c = in->args.field("command");
    if (c == nullptr || !c->is_sequence() || c->items().empty()) {
      instance_failed(*in, "command: give the program and its arguments, e.g. [\"echo\", \"hi\"]");
      return;
    }
    std::vector<std::string> argv;
    for (const Value& v : c->items()) argv.push_back(text_of(v));
    std::string input = str_arg(in->args, "stdin");
    int64_t timeout = timeout_ms(*in);
    Instance* raw = in.get();
    uint64_t id = next_request_++;
    running_[id] = std::move(in);
    ++in_flight_;
    threads_.emplace_back([this, id, raw, argv, input, timeout] {
      CmdResult r = run_cmd(argv, input, timeout, &raw->pid);
      std::lock_guard lock(cmd_mu_);
      cmd_done_.emplace_back(id, std::move(r));
      uint64_t one = 1;
      [[maybe_unused]] ssize_t w = ::write(cmd_fd_, &one, sizeof one);
    });
  }

  // --- Socket.IO (Engine.IO v4 over the engine's WebSocket) ---

  enum Sio { kSioConnect, kSioOpen, kSioJoin, kSioJoined, kSioEmit, kSioWait, kSioClose, kSioPong };

  static std::string socketio_url(std::string url) {
    if (url.starts_with("http://")) url = "ws://" + url.substr(7);
    if (url.starts_with("https://")) url = "wss://" + url.substr(8);
    size_t scheme = url.find("://");
    size_t path = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
    if (path == std::string::npos) url += "/socket.io/";
    if (url.find("socket.io") == std::string::npos) {
      url += url.ends_with("/") ? "socket.io/" : "/socket.io/";
    }
    if (!url.ends_with("/") && url.find('?') == std::string::npos) url += "/";
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "EIO=4&transport=websocket";
  }

  // The namespace's prefix in packets: "" for "/", "/chat," otherwise.
  static std::string ns_prefix(const std::string& ns) {
    return ns.empty() || ns == "/" ? "" : ns + ",";
  }

  void start_socketio(std::unique_ptr<Instance> in) {
    const StepDef& s = g_.steps[in->node];
    int64_t timeout = duration_ns(
        str_arg(in->args, "timeout").empty() ? "10s" : str_arg(in->args, "timeout"), "timeout");
    in->sio_deadline_ns = mono_now_ns() + timeout;
    if (s.runner == "socketio") {
      in->vu = next_vu_++;  // a connection of its own, closed at the end
      in->own_vu = true;
      in->sio_url = socketio_url(str_arg(in->args, "url"));
      in->sio_ns = str_arg(in->args, "namespace");
      sio_send(std::move(in), kSioConnect);
      return;
    }
    // socketio_request: the client resource's connection, one user at a time.
    for (size_t d : s.deps) {
      if (g_.steps[d].resource && g_.steps[d].runner == "socketio_client") in->sio_resource = d;
    }
    if (in->sio_resource == SIZE_MAX) {
      instance_failed(*in,
                      "socketio_request needs uses { client = resource.socketio_client.NAME }");
      return;
    }
    Node& r = nodes_[in->sio_resource];
    in->vu = r.vu;
    in->own_vu = false;
    in->sio_url = socketio_url(str_arg(r.resource_args, "url"));
    in->sio_ns = str_arg(r.resource_args, "namespace");
    if (r.sio_busy) {
      r.sio_queue.push_back(std::move(in));
      ++in_flight_;  // waiting for the connection: the run is not over
      return;
    }
    r.sio_busy = true;
    sio_send(std::move(in), r.sio_connected ? kSioEmit : kSioConnect);
  }

  // Submits the WebSocket action of `state` and keeps the instance until its response.
  void sio_send(std::unique_ptr<Instance> in, int state) {
    in->sio = state;
    engine::ClientRequest r;
    r.id = next_request_++;
    r.vu = in->vu;
    r.url = in->sio_url;
    r.timeout_ns = std::max<int64_t>(1'000'000, in->sio_deadline_ns - mono_now_ns());
    r.name = g_.steps[in->node].key();
    switch (state) {
      case kSioConnect:
        r.action = "ws.connect";
        break;
      case kSioJoin:
        r.action = "ws.send";
        r.body = "40" + (in->sio_ns.empty() || in->sio_ns == "/" ? "" : in->sio_ns + ",");
        r.has_body = true;
        break;
      case kSioEmit: {
        std::string event = str_arg(in->args, "emit_event");
        if (event.empty()) {  // nothing to emit: wait for the event
          sio_send(std::move(in), kSioWait);
          return;
        }
        const Value* data = in->args.field("emit_data");
        Value::Items packet = {Value::string(event)};
        if (data != nullptr && !data->is_null()) packet.push_back(*data);
        r.action = "ws.send";
        r.body = "42" + ns_prefix(in->sio_ns) + hcl::to_json(Value::tuple(std::move(packet)));
        r.has_body = true;
        break;
      }
      case kSioPong:
        r.action = "ws.send";
        r.body = "3";
        r.has_body = true;
        break;
      case kSioClose:
        r.action = "ws.close";
        break;
      default:  // kSioOpen, kSioJoined, kSioWait: the next message
        r.action = "ws.receive";
    }
    uint64_t id = r.id;
    client_.submit(std::move(r));
    running_[id] = std::move(in);
    ++in_flight_;
  }

  void sio_step(std::unique_ptr<Instance> in, const engine::ClientResponse& r) {
    if (!r.ok) {
      sio_end(std::move(in),
              fmt::format("socket.io: {} ({})", r.error, r.body.empty() ? in->sio_url : r.body),
              Value());
      return;
    }
    const std::string& m = r.body;
    switch (in->sio) {
      case kSioConnect:
        sio_send(std::move(in), kSioOpen);
        return;
      case kSioOpen:
        if (!m.starts_with("0")) {
          sio_end(std::move(in), "socket.io: expected Engine.IO's open packet, got " + m, Value());
          return;
        }
        sio_send(std::move(in), kSioJoin);
        return;
      case kSioJoin:
        sio_send(std::move(in), kSioJoined);
        return;
      case kSioPong:
        sio_send(std::move(in), in->sio_after_pong);
        return;
      case kSioEmit:
        sio_send(std::move(in), kSioWait);
        return;
      case kSioClose:
        sio_end(std::move(in), "", in->args);
        return;
      default:
        break;
    }
    if (m == "2") {  // Engine.IO ping: answer, then go on waiting
      in->sio_after_pong = in->sio;
      sio_send(std::move(in), kSioPong);
      return;
    }
    if (in->sio == kSioJoined) {
      if (m.starts_with("44")) {
        sio_end(std::move(in), "socket.io: the namespace refused the connection: " + m, Value());
        return;
      }
      if (!m.starts_with("40")) {  // something before the ack: wait on
        sio_send(std::move(in), kSioJoined);
        return;
      }
      if (in->sio_resource != SIZE_MAX) nodes_[in->sio_resource].sio_connected = true;
      sio_send(std::move(in), kSioEmit);
      return;
    }
    // kSioWait: an event "42[ns,]["name", data...]"; others are skipped.
    std::string prefix = "42" + ns_prefix(in->sio_ns);
    if (m.starts_with(prefix)) {
      Value packet;
      try {
        packet = hcl::from_json(std::string_view(m).substr(prefix.size()));
      } catch (const std::exception&) {
      }
      if (packet.is_sequence() && !packet.items().empty() &&
          packet.items()[0].type() == hcl::Type::kString &&
          packet.items()[0].as_string() == str_arg(in->args, "on_event")) {
        Value::Fields out;
        out["response_data"] = packet.items().size() > 1 ? packet.items()[1] : Value();
        in->sio_result = Value::object(std::move(out));
        if (in->own_vu) {
          sio_send(std::move(in), kSioClose);
        } else {
          sio_end(std::move(in), "", Value());
        }
        return;
      }
    }
    sio_send(std::move(in), kSioWait);
  }

  // The exchange is over: the result, and the shared connection's next user.
  void sio_end(std::unique_ptr<Instance> in, const std::string& error, const Value&) {
    size_t res = in->sio_resource;
    in->sio = -1;
    if (error.empty()) {
      instance_done(*in, in->sio_result);
    } else {
      if (res != SIZE_MAX) nodes_[res].sio_connected = false;
      instance_failed(*in, error);
    }
    if (res == SIZE_MAX || failed_) return;
    Node& r = nodes_[res];
    r.sio_busy = false;
    if (!r.sio_queue.empty()) {
      std::unique_ptr<Instance> next = std::move(r.sio_queue.front());
      r.sio_queue.pop_front();
      --in_flight_;  // counted while it queued; sio_send counts it again
      r.sio_busy = true;
      sio_send(std::move(next), r.sio_connected ? kSioEmit : kSioConnect);
    }
  }

  void wait() {
    pollfd fds[2] = {{client_.wake_fd(), POLLIN, 0}, {cmd_fd_, POLLIN, 0}};
    int wait_ms = 50;
    int64_t now = mono_now_ns();
    for (int64_t due : {delayed_.empty() ? INT64_MAX : delayed_.begin()->first,
                        finishing_.empty() ? INT64_MAX : finishing_.begin()->first}) {
      if (due != INT64_MAX) {
        wait_ms = static_cast<int>(std::clamp<int64_t>((due - now + 999'999) / 1'000'000, 0, 50));
      }
    }
    poll(fds, 2, wait_ms);
    now = mono_now_ns();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {  // delay_before, retries
      queued_.push_front(std::move(delayed_.begin()->second));
      delayed_.erase(delayed_.begin());
    }
    while (!finishing_.empty() && finishing_.begin()->first <= now) {  // delay_after
      size_t n = finishing_.begin()->second;
      finishing_.erase(finishing_.begin());
      if (!failed_) node_done(n);
    }
    for (engine::ClientResponse& r : client_.take()) {
      auto it = running_.find(r.id);
      if (it == running_.end()) continue;  // cancelled
      std::unique_ptr<Instance> in = std::move(it->second);
      running_.erase(it);
      --in_flight_;
      if (in->sio >= 0) {
        sio_step(std::move(in), r);
      } else {
        response(*in, r);
      }
    }
    uint64_t n;
    if (::read(cmd_fd_, &n, sizeof n) > 0) {
      std::vector<std::pair<uint64_t, CmdResult>> done;
      {
        std::lock_guard lock(cmd_mu_);
        done.swap(cmd_done_);
      }
      for (auto& [id, r] : done) {
        auto it = running_.find(id);
        if (it == running_.end()) continue;
        std::unique_ptr<Instance> in = std::move(it->second);
        running_.erase(it);
        --in_flight_;
        if (in->cancelled) continue;  // reported when it was cancelled
        Value::Fields out;
        out["exit_code"] = Value::number(r.exit_code);
        out["stdout"] = Value::string(r.out);
        out["stderr"] = Value::string(r.err);
        if (!r.error.empty()) {
          instance_failed(*in, r.error, Value::object(std::move(out)));
        } else if (r.exit_code != 0) {
          instance_failed(*in, fmt::format("exited with {}: {}", r.exit_code, trim(r.err)),
                          Value::object(std::move(out)));
        } else {
          instance_done(*in, Value::object(std::move(out)));
        }
      }
    }
  }

  void response(Instance& in, const engine::ClientResponse& r) {
    const StepDef& s = g_.steps[in.node];
    Value::Fields out;
    out["latency_ms"] = Value::number(static_cast<double>(r.latency_us) / 1000.0);
    size_t graphql_errors = 0;
    if (s.runner == "http_request" || s.runner == "s3" || s.runner == "graphql") {
      out["status_code"] = Value::number(r.status);
      Value::Fields headers;
      for (const auto& [k, v] : r.headers) headers[k] = Value::string(v);
      if (s.runner == "s3") {
        const Value* etag = nullptr;
        for (const auto& [k, v] : headers) {
          if (iequals(k, "etag")) etag = &v;
        }
        out["etag"] = etag ? *etag : Value::string("");
      } else {
        out["headers"] = Value::map(std::move(headers));
        out["body"] = Value::string(r.body);
        Value json;
        try {
          if (!r.body.empty()) json = hcl::from_json(r.body);
        } catch (const std::exception&) {
        }
        if (s.runner == "graphql") {  // errors in a 200 response fail the step
          const Value* errors = json.is_mapping() ? json.field("errors") : nullptr;
          graphql_errors = errors != nullptr && errors->is_sequence() ? errors->size() : 0;
          out["errors"] = Value::number(static_cast<double>(graphql_errors));
        }
        out["json"] = json;
      }
    } else {
      out["body"] = Value::string(r.body);
      out["ok"] = Value::boolean(r.ok);
    }
    Value output = Value::object(std::move(out));
    if (!r.ok) {
      instance_failed(in, fmt::format("{}: {}", r.error, r.body.empty() ? r.url : r.body), output);
      return;
    }
    if (s.runner == "s3" && (r.status < 200 || r.status >= 300)) {
      instance_failed(in, fmt::format("the upload got HTTP {}", r.status), output);
      return;
    }
    if (s.runner == "graphql" && (graphql_errors > 0 || r.status >= 400)) {
      instance_failed(in,
                      graphql_errors > 0 ? fmt::format("the response has {} GraphQL error(s): {}",
                                                       graphql_errors, r.body)
                                         : fmt::format("HTTP {}", r.status),
                      output);
      return;
    }
    instance_done(in, output);
  }

  void instance_done(Instance& in, Value output) {
    const StepDef& s = g_.steps[in.node];
    if (s.check != nullptr) {
      hcl::Context c(in.ctx.get());
      c.set("output", output);
      try {
        Value ok = hcl::evaluate(*s.check, c);
        bool b = false;
        if (!hcl::to_bool(ok, &b)) {
          throw hcl::Error(*s.src, s.check->pos, "check must be true or false");
        }
        if (!b) {
          instance_failed(in, fmt::format("check failed at {}", where(*s.src, s.check->pos)),
                          output);
          return;
        }
      } catch (const SetupError& e) {
        instance_failed(in, e.what(), output);
        return;
      }
    }
    report(in, "ok", "", output);
    Node& node = nodes_[in.node];
    node.outputs[static_cast<size_t>(std::max(0, in.index))] = std::move(output);
    if (in.own_vu) client_.forget_vu(in.vu);
    if (++node.finished == node.instances) finish_node(in.node);
  }

  void instance_failed(Instance& in, const std::string& error, Value output = Value()) {
    const StepOptions& o = g_.steps[in.node].options;
    if (in.attempt < o.attempts && !failed_ && g_interrupts.load() == 0 && in.ctx) {
      // retry: the same instance again after its backoff; this try is logged, not counted.
      StepReport r = report_of(in);
      r.status = "retry";
      r.ms = static_cast<double>(mono_now_ns() - in.started_ns) / 1e6;
      r.error = fmt::format("try {} of {} failed: {}", in.attempt, o.attempts,
                            o.sensitive ? kRedacted : error);
      log(r);
      if (in.own_vu) client_.forget_vu(in.vu);
      auto again = std::make_unique<Instance>();
      again->node = in.node;
      again->index = in.index;
      again->each = in.each;
      again->ctx = std::move(in.ctx);
      again->attempt = in.attempt + 1;
      again->delay_done = true;
      delayed_.emplace(mono_now_ns() + retry_delay_ns(o, in.attempt), std::move(again));
      return;
    }
    if (o.continue_on_failure && !failed_) {  // reported; its dependants run on
      report(in, "failed", error + " (continue_on_failure: the run goes on)", output);
      Node& node = nodes_[in.node];
      node.outputs[static_cast<size_t>(std::max(0, in.index))] = std::move(output);
      if (in.own_vu) client_.forget_vu(in.vu);
      if (++node.finished == node.instances) finish_node(in.node);
      return;
    }
    report(in, "failed", error, output);
    if (in.own_vu) client_.forget_vu(in.vu);
    node_failed(in.node, in.index, "");
  }

  void report(const Instance& in, const char* status, const std::string& error,
              const Value& output) {
    StepReport r = report_of(in);
    r.status = status;
    r.ms = static_cast<double>(mono_now_ns() - in.started_ns) / 1e6;
    r.error = error;
    r.output = output;
    if (g_.steps[in.node].options.sensitive) redact(r);
    log(r);
    result_.steps.push_back(std::move(r));
  }

  // A sensitive step's report: its output and the details of its error hidden.
  static void redact(StepReport& r) {
    if (!r.output.is_null()) r.output = Value::string(kRedacted);
    if (!r.error.empty()) r.error = std::string("the step failed; details hidden ") + kRedacted;
  }

  void log(const StepReport& r) {
    if (o_.quiet) return;
    std::string name = r.key + instance_suffix(r.index, r.each);
    if (o_.json_log) {
      nlohmann::json j = {{"step", name}, {"status", r.status}, {"ms", r.ms}};
      if (!r.error.empty()) j["error"] = r.error;
      std::fprintf(o_.log, "%s\n", j.dump().c_str());
    } else {
      std::string detail = r.error;
      if (detail.empty() && r.output.is_mapping()) {
        if (const Value* sc = r.output.field("status_code")) detail = "HTTP " + text_of(*sc);
      }
      std::fprintf(o_.log, "%-9s %-40s %9.1f ms  %s\n", r.status.c_str(), name.c_str(), r.ms,
                   detail.c_str());
    }
    std::fflush(o_.log);
  }

  void node_failed(size_t n, int index, const std::string& error) {
    if (!error.empty()) {
      StepReport r;
      r.key = g_.steps[n].key();
      r.index = index;
      r.status = "failed";
      r.error = error;
      if (g_.steps[n].options.sensitive) redact(r);
      log(r);
      result_.steps.push_back(std::move(r));
    }
    nodes_[n].state = Node::State::kFailed;
    fail_fast("");
  }

  // The first failure: what runs is cancelled (its connection closed, its process killed),
  // what waits is skipped.
  void fail_fast(const std::string& why) {
    if (failed_) return;
    failed_ = true;
    for (auto& [id, in] : running_) {
      StepReport r = report_of(*in);
      r.status = "cancelled";
      r.ms = static_cast<double>(mono_now_ns() - in->started_ns) / 1e6;
      r.error = why.empty() ? "another step failed" : why;
      log(r);
      result_.steps.push_back(std::move(r));
      client_.forget_vu(in->vu);
      in->cancelled = true;
      if (pid_t pid = in->pid.load(); pid > 0) kill(-pid, SIGKILL);  // its process group
      nodes_[in->node].state = Node::State::kSkipped;
    }
    // cmd threads still report; their instances stay owned until then.
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second->pid.load() > 0 || g_.steps[it->second->node].runner == "cmd") {
        ++it;
      } else {
        it = running_.erase(it);
      }
    }
    in_flight_ = running_.size();
    for (auto& in : queued_) {
      StepReport r = report_of(*in);
      r.status = "skipped";
      r.error = "cancelled before it started";
      log(r);
      result_.steps.push_back(std::move(r));
      nodes_[in->node].state = Node::State::kSkipped;
    }
    queued_.clear();
    for (auto& [due, in] : delayed_) {  // waiting out delay_before or a retry's backoff
      StepReport r = report_of(*in);
      r.status = "skipped";
      r.error = "cancelled before it started";
      log(r);
      result_.steps.push_back(std::move(r));
    }
    delayed_.clear();
    finishing_.clear();
    ready_.clear();
    for (Node& nd : nodes_) {  // Socket.IO requests waiting for their shared connection
      for (auto& in : nd.sio_queue) {
        StepReport r = report_of(*in);
        r.status = "cancelled";
        r.error = "another step failed";
        log(r);
        result_.steps.push_back(std::move(r));
      }
      nd.sio_queue.clear();
    }
  }

  void finish_node(size_t n) {
    Node& node = nodes_[n];
    const StepDef& s = g_.steps[n];
    auto one = [](const Value& out) {
      Value::Fields f;
      f["output"] = out;
      return Value::object(std::move(f));
    };
    if (s.count != nullptr) {
      Value::Items items;
      items.reserve(node.outputs.size());
      for (const Value& o : node.outputs) items.push_back(one(o));
      node.value = Value::tuple(std::move(items));
    } else if (s.for_each != nullptr) {  // step.R.N["key"].output
      Value::Fields by_key;
      for (size_t k = 0; k < node.keys.size(); ++k) by_key[node.keys[k]] = one(node.outputs[k]);
      node.value = Value::object(std::move(by_key));
      node.keys.clear();
    } else {
      node.value = one(node.outputs.empty() ? Value() : node.outputs[0]);
    }
    node.outputs.clear();
    node.state = Node::State::kDone;
    if (int64_t after = s.options.delay_after_ns; after > 0) {  // dependants start after it
      finishing_.emplace(mono_now_ns() + after, n);
      return;
    }
    node_done(n);
  }

  void node_done(size_t n) {
    for (size_t d : g_.steps[n].deps) {  // a resource whose last user ended goes
      if (g_.steps[d].resource && --nodes_[d].users_left == 0) client_.forget_vu(nodes_[d].vu);
    }
    for (size_t u : nodes_[n].users) {
      if (--nodes_[u].deps_left == 0 && !failed_) ready_.push_back(u);
    }
  }

  const Grid& g_;
  const WorkflowOptions& o_;
  engine::Client client_;
  std::vector<Node> nodes_;
  std::deque<size_t> ready_;
  std::deque<std::unique_ptr<Instance>> queued_;
  std::multimap<int64_t, std::unique_ptr<Instance>> delayed_;  // by due time (ns): delays, retries
  std::multimap<int64_t, size_t> finishing_;  // nodes done, their delay_after running
  std::map<uint64_t, std::unique_ptr<Instance>> running_;
  std::vector<std::unique_ptr<hcl::Context>> contexts_;
  size_t in_flight_ = 0;
  uint64_t next_request_ = 1;
  uint32_t next_vu_ = 1;
  size_t instances_ = 0;  // step instances made so far (at most kMaxCount)
  bool failed_ = false;
  WorkflowResult result_;
  int cmd_fd_ = -1;
  std::mutex cmd_mu_;
  std::vector<std::pair<uint64_t, CmdResult>> cmd_done_;
  std::vector<std::thread> threads_;
};

}  // namespace

WorkflowResult run_workflow(const Grid& g, const WorkflowOptions& o) {
  Workflow w(g, o);
  return w.run();
}

}  // namespace spiker::grid
