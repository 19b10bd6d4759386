// Kafka (kafka://broker:9092/topic): librdkafka with its event queues bridged into the worker's
// loop (rd_kafka_queue_io_event_enable writes to an eventfd that epoll watches). One producer
// per worker thread and configuration serves every VU of the thread (librdkafka batches their
// messages); a produce is timed to its delivery report. --consume makes each VU a member of
// the consumer group (--group) that receives messages: their end-to-end latency (from the
// publisher's stamp, or else the message's timestamp) and their count. Properties pass to
// librdkafka as -X name=value (linger.ms, acks, compression.type, ...).
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <iterator>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/io_handler.h"
#include "core/url.h"
#include "metrics/shard.h"
#include "proto/message_stamp.h"
#include "proto/payload.h"
#include "proto/protocol.h"

namespace spiker::kafka {
namespace {

using metrics::ErrorKind;
using proto::Verb;

constexpr char kSeparator = '\x1f';  // topic, key, value in a rendered payload

const metrics::StatBlock* g_stats = nullptr;
enum Counter : uint32_t {
  kProduced,
  kDelivered,
  kDeliveryFailed,
  kConsumed,
  kConsumedTimed,
  kOutOfOrder,
  kBrokerErrors,
  kCounterCount
};
constexpr const char* kCounterNames[] = {"produced",     "delivered",      "delivery_failed",
                                         "consumed",     "consumed_timed", "out_of_order",
                                         "broker_errors"};
static_assert(std::size(kCounterNames) == kCounterCount, "a name per counter");
enum Histogram : uint32_t { kEndToEnd, kLag };

struct Request : plan::ProtocolRequest {
  bool consume = false;
  bool stamp = false;
  std::string brokers;                                          // bootstrap.servers
  std::string group;                                            // consumer group
  std::vector<std::pair<std::string, std::string>> properties;  // -X name=value
  std::string config_key;  // brokers and properties: producers are shared per key
};

class Session;

// A librdkafka client whose event queue the worker's epoll watches.
class Client : public IoHandler {
 public:
  Client(proto::SessionHost& host, rd_kafka_t* rk, rd_kafka_queue_t* queue)
      : host_(host), rk_(rk), queue_(queue) {
    fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    static const uint64_t one = 1;
    rd_kafka_queue_io_event_enable(queue_, fd_, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = static_cast<IoHandler*>(this);
    epoll_ctl(host_.epoll_fd(), EPOLL_CTL_ADD, fd_, &ev);
  }
  virtual ~Client() { release_queue(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void on_io(uint32_t) noexcept override {
    if (queue_ == nullptr) return;  // released in this loop turn
    uint64_t n = 0;
    [[maybe_unused]] ssize_t r = ::read(fd_, &n, sizeof n);
    // What is there now; the eventfd tells of the rest. An event may end the client's use
    // (its session's last exchange: the consumer leaves and releases the queue).
    for (int i = 0; i < 10000 && queue_ != nullptr; ++i) {
      rd_kafka_event_t* ev = rd_kafka_queue_poll(queue_, 0);
      if (ev == nullptr) break;
      event(ev);
      rd_kafka_event_destroy(ev);
    }
  }

  rd_kafka_t* rk() const { return rk_; }

 protected:
  // Before the client itself is destroyed: the queue is the client's.
  void release_queue() noexcept {
    if (queue_ == nullptr) return;
    epoll_ctl(host_.epoll_fd(), EPOLL_CTL_DEL, fd_, nullptr);
    rd_kafka_queue_io_event_enable(queue_, -1, nullptr, 0);
    rd_kafka_queue_destroy(queue_);
    queue_ = nullptr;
    ::close(fd_);
    fd_ = -1;
  }

  virtual void event(rd_kafka_event_t* ev) noexcept = 0;

  proto::SessionHost& host_;
  rd_kafka_t* rk_;
  rd_kafka_queue_t* queue_;
  int fd_ = -1;
};

// The worker thread's producer for one configuration: sessions produce through it and get
// their delivery reports by id.
class Producer final : public Client {
 public:
  using Client::Client;
  ~Producer() override {
    release_queue();
    rd_kafka_flush(rk_, 2000);  // what is queued goes out (its reports are no one's now)
    rd_kafka_destroy(rk_);
  }

  uint64_t add(Session* s) {
    sessions_[++next_] = s;
    return next_;
  }
  void remove(uint64_t id) { sessions_.erase(id); }

 protected:
  void event(rd_kafka_event_t* ev) noexcept override;

 private:
  std::unordered_map<uint64_t, Session*> sessions_;
  uint64_t next_ = 0;
};

// Producers of this worker thread, by configuration; kept while a session uses one.
struct ProducerRef {
  std::string key;
  std::weak_ptr<Producer> producer;
};
thread_local std::vector<ProducerRef> t_producers;

rd_kafka_conf_t* make_conf(const Request& r, std::string* err) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char msg[512];
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), msg, sizeof msg) != RD_KAFKA_CONF_OK) {
      *err = fmt::format("{}={}: {}", k, v, msg);
      return false;
    }
    return true;
  };
  bool ok = set("bootstrap.servers", r.brokers) && set("client.id", "loadspiker");
  if (ok && r.consume) {
    // A group without committed offsets reads the topic from its start (a run's own group
    // sees every message of the run); auto.offset.reset=latest changes that.
    ok = set("group.id", r.group) && set("auto.offset.reset", "earliest") &&
         set("enable.partition.eof", "false");
  }
  for (const auto& [k, v] : r.properties) ok = ok && set(k, v);
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  rd_kafka_conf_set_events(conf, RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_FETCH |
                                     RD_KAFKA_EVENT_REBALANCE);
  return conf;
}

class Session final : public proto::Session {
 public:
  Session(proto::SessionHost& host, const proto::SessionOptions& o) : host_(host), options_(o) {}
  ~Session() override {
    close();
    if (producer_) producer_->remove(producer_id_);
  }

  void submit(const proto::Exchange& x) noexcept override {
    request_ = static_cast<const Request*>(x.request);
    busy_ = true;
    started_ns_ = host_.now();
    deadline_ns_ = x.deadline_ns != 0 ? x.deadline_ns
                   : x.timeout_ns > 0 ? started_ns_ + x.timeout_ns
                                      : 0;
    if (x.verb == Verb::kClose) {
      close();
      report(true, ErrorKind::kOther, {}, {}, false);
      return;
    }
    if (request_->consume) {
      if (!consumer_ && !open_consumer()) return;
      waiting_ = true;
      deliver_queued();
      return;
    }
    if (!producer_ && !open_producer()) return;
    produce(x.payload);
  }

  void check_deadline(int64_t now) noexcept override {
    if (busy_ && deadline_ns_ != 0 && now >= deadline_ns_) {
      waiting_ = false;
      ++generation_;  // a late delivery report no longer answers anything
      report(false, ErrorKind::kTimeout, {}, {}, true);
    }
  }

  // The producer is the worker thread's: kept until this session goes (the worker frees
  // sessions between loop turns, so no event of the producer's is pending then). A consumer
  // leaves its group now; the object goes with the session too.
  void close() noexcept override {
    if (consumer_) {
      consumer_->leave();
      closed_.push_back(std::move(consumer_));
    }
    queue_.clear();
  }
  // Held producers count: the worker keeps a VU's session (and its reference to the thread's
  // producer) between steps rather than making the producer anew.
  bool connected() const noexcept override { return producer_ || consumer_; }
  int64_t deadline_ns() const noexcept override { return deadline_ns_; }
  void on_io(uint32_t) noexcept override {}

  // The producer's delivery report for a message of ours.
  void delivered(uint64_t generation, rd_kafka_resp_err_t err) noexcept {
    metrics::Shard& s = host_.shard();
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      s.add(g_stats->counter(kDeliveryFailed));
    } else {
      s.add(g_stats->counter(kDelivered));
    }
    if (!busy_ || generation != (generation_ & 0xfffff)) return;  // the opaque keeps 20 bits
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      report(true, ErrorKind::kOther, rd_kafka_err2name(err), rd_kafka_err2str(err), true);
      return;
    }
    report(true, ErrorKind::kOther, {}, {}, false);
  }

  // A consumed message.
  void consumed(const rd_kafka_message_t* m, rd_kafka_t* rk) noexcept {
    metrics::Shard& s = host_.shard();
    s.add(g_stats->counter(kConsumed));
    std::string_view value(static_cast<const char*>(m->payload), m->len);
    // Lag: the messages of its partition behind this one (from the high watermark the
    // fetch brought; librdkafka's cache, no request).
    int64_t low = 0, high = -1;
    if (rd_kafka_get_watermark_offsets(rk, rd_kafka_topic_name(m->rkt), m->partition, &low,
                                       &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0) {
      s.block_histogram(g_stats->histogram(kLag))
          .record(std::max<int64_t>(high - m->offset - 1, 0));
    }
    // End-to-end latency: from the producer's stamp (order per partition: Kafka keeps it only
    // within one; gaps are the producer's other partitions), else the message's timestamp.
    proto::StampReader::Seen seen;
    int64_t latency_us = -1;
    if (stamps_.read(&value, &seen, static_cast<uint32_t>(m->partition))) {
      latency_us = seen.latency_us;
      if (seen.out_of_order) s.add(g_stats->counter(kOutOfOrder));
    } else {
      rd_kafka_timestamp_type_t type;
      int64_t ms = rd_kafka_message_timestamp(m, &type);
      if (ms > 0) latency_us = std::max<int64_t>((proto::wall_ns() - ms * 1'000'000) / 1000, 0);
    }
    if (latency_us >= 0) {
      s.add(g_stats->counter(kConsumedTimed));
      s.block_histogram(g_stats->histogram(kEndToEnd)).record(latency_us);
    }
    std::string key = m->key != nullptr ? std::string(static_cast<const char*>(m->key), m->key_len)
                                        : std::string();
    const char* topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
    if (busy_ && waiting_) {
      deliver(topic, key, value);
      return;
    }
    if (queue_.size() >= 1024) queue_.pop_front();
    queue_.push_back({topic, key, std::string(value)});
  }

  void broker_error(rd_kafka_resp_err_t err, const char* reason) noexcept {
    host_.shard().add(g_stats->counter(kBrokerErrors));
    (void)err;
    (void)reason;
  }

 private:
  struct Message {
    std::string topic, key, value;
  };

  // The consumer group member of this VU, its queue on the loop.
  class Consumer final : public Client {
   public:
    Consumer(proto::SessionHost& host, rd_kafka_t* rk, Session* owner)
        : Client(host, rk, rd_kafka_queue_get_consumer(rk)), owner_(owner) {}
    ~Consumer() override {
      leave();
      // leave() is bounded; a close it could not finish (a slow group coordinator) is not
      // waited for again here, which could take the group's session timeout.
      rd_kafka_destroy_flags(
          rk_, rd_kafka_consumer_closed(rk_) != 0 ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }

    // Leaves the group: the close's rebalance is served here (bounded).
    void leave() noexcept {
      if (left_) return;
      left_ = true;
      release_queue();
      rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
      rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_, q);
      if (e != nullptr) rd_kafka_error_destroy(e);
      for (int i = 0; i < 30 && rd_kafka_consumer_closed(rk_) == 0; ++i) {
        rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 100);
        if (ev == nullptr) continue;
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) rd_kafka_assign(rk_, nullptr);
        rd_kafka_event_destroy(ev);
      }
      rd_kafka_queue_destroy(q);
    }

   protected:
    void event(rd_kafka_event_t* ev) noexcept override {
      switch (rd_kafka_event_type(ev)) {
        case RD_KAFKA_EVENT_FETCH: {
          const rd_kafka_message_t* m = nullptr;
          while ((m = rd_kafka_event_message_next(ev)) != nullptr) {
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) owner_->consumed(m, rk_);
          }
          break;
        }
        case RD_KAFKA_EVENT_REBALANCE: {
          rd_kafka_topic_partition_list_t* parts = rd_kafka_event_topic_partition_list(ev);
          if (rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            rd_kafka_assign(rk_, parts);
          } else {
            rd_kafka_assign(rk_, nullptr);
          }
          break;
        }
        case RD_KAFKA_EVENT_ERROR:
          owner_->broker_error(rd_kafka_event_error(ev), rd_kafka_event_error_string(ev));
          break;
        default:
          break;
      }
    }

   private:
    Session* owner_;
    bool left_ = false;
  };

  bool open_producer() noexcept {
    const Request& r = *request_;
    for (auto it = t_producers.begin(); it != t_producers.end();) {
      if (it->producer.expired()) {
        it = t_producers.erase(it);
        continue;
      }
      if (it->key == r.config_key) producer_ = it->producer.lock();
      ++it;
    }
    if (!producer_) {
      std::string err;
      rd_kafka_conf_t* conf = make_conf(r, &err);
      char msg[512];
      rd_kafka_t* rk =
          conf != nullptr ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, msg, sizeof msg) : nullptr;
      if (rk == nullptr) {
        if (conf != nullptr) rd_kafka_conf_destroy(conf);
        report(false, ErrorKind::kConnect, {}, {}, true);
        return false;
      }
      producer_ = std::make_shared<Producer>(host_, rk, rd_kafka_queue_get_main(rk));
      t_producers.push_back({r.config_key, producer_});
      ++host_.shard().connections_opened;
    }
    producer_id_ = producer_->add(this);
    return true;
  }

  bool open_consumer() noexcept {
    const Request& r = *request_;
    std::string err;
    rd_kafka_conf_t* conf = make_conf(r, &err);
    char msg[512];
    rd_kafka_t* rk =
        conf != nullptr ? rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof msg) : nullptr;
    if (rk == nullptr) {
      if (conf != nullptr) rd_kafka_conf_destroy(conf);
      report(false, ErrorKind::kConnect, {}, {}, true);
      return false;
    }
    rd_kafka_poll_set_consumer(rk);
    consumer_ = std::make_unique<Consumer>(host_, rk, this);
    std::string topic(topic_of(r.payload));
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    ++host_.shard().connections_opened;
    return true;
  }

  static std::string_view topic_of(std::string_view payload) {
    return payload.substr(0, payload.find(kSeparator));
  }

  void produce(std::string_view payload) noexcept {
    const Request& r = *request_;
    std::string_view topic = topic_of(payload);
    std::string_view rest =
        topic.size() < payload.size() ? payload.substr(topic.size() + 1) : std::string_view();
    size_t sep = rest.find(kSeparator);
    std::string_view key = rest.substr(0, sep);
    std::string_view value =
        sep == std::string_view::npos ? std::string_view() : rest.substr(sep + 1);
    value_.clear();
    if (r.stamp) {
      if (producer_tag_ == 0) producer_tag_ = static_cast<uint32_t>(host_.random() | 1);
      proto::put_stamp(value_, producer_tag_, seq_++);
    }
    value_.append(value);
    topic_name_.assign(topic);
    // The opaque: this session's id at the producer and the exchange's generation.
    auto* tag = reinterpret_cast<void*>((producer_id_ << 20) | (++generation_ & 0xfffff));
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_->rk(), RD_KAFKA_V_TOPIC(topic_name_.c_str()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value_.data(), value_.size()),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()), RD_KAFKA_V_OPAQUE(tag),
        RD_KAFKA_V_END);
    host_.shard().add(g_stats->counter(kProduced));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      report(true, ErrorKind::kOther, rd_kafka_err2name(err), rd_kafka_err2str(err), true);
    }
  }

  void deliver_queued() noexcept {
    if (queue_.empty()) return;
    Message m = std::move(queue_.front());
    queue_.pop_front();
    deliver(m.topic, m.key, m.value);
  }

  void deliver(std::string_view topic, std::string_view key, std::string_view value) noexcept {
    waiting_ = false;
    busy_ = false;
    proto::Outcome o;
    o.sent_ns = started_ns_;
    o.done_ns = host_.now();
    deadline_ns_ = 0;
    plan::CapturedResponse parts;
    parts.body = value;
    parts.headers.emplace_back("topic", topic);
    parts.headers.emplace_back("key", key);
    o.parts = &parts;
    host_.complete(*this, o);
  }

  // Ends the exchange: answered (ok or refused with `code`) or failed with `kind`.
  void report(bool answered, ErrorKind kind, std::string_view code, std::string_view message,
              bool failed) noexcept {
    if (!busy_) return;
    busy_ = false;
    deadline_ns_ = 0;
    proto::Outcome o;
    o.sent_ns = started_ns_;
    o.done_ns = host_.now();
    plan::CapturedResponse parts;
    if (!answered && failed) {
      o.ok = false;
      o.error = kind;
    } else if (failed) {
      o.refused = true;
      parts.body = message;
      parts.headers.emplace_back("error", code);
      o.parts = &parts;
    }
    host_.complete(*this, o);
  }

  proto::SessionHost& host_;
  const proto::SessionOptions& options_;
  const Request* request_ = nullptr;
  bool busy_ = false, waiting_ = false;
  int64_t started_ns_ = 0, deadline_ns_ = 0;
  std::shared_ptr<Producer> producer_;
  uint64_t producer_id_ = 0, generation_ = 0;
  uint32_t producer_tag_ = 0, seq_ = 0;
  std::unique_ptr<Consumer> consumer_;
  std::vector<std::unique_ptr<Consumer>> closed_;  // left their group; freed with the session
  std::deque<Message> queue_;
  std::string value_, topic_name_;
  proto::StampReader stamps_;

  friend class Producer;
};

void Producer::event(rd_kafka_event_t* ev) noexcept {
  switch (rd_kafka_event_type(ev)) {
    case RD_KAFKA_EVENT_DR: {
      const rd_kafka_message_t* m = nullptr;
      while ((m = rd_kafka_event_message_next(ev)) != nullptr) {
        auto tag = reinterpret_cast<uint64_t>(m->_private);
        auto it = sessions_.find(tag >> 20);
        if (it != sessions_.end()) {
          it->second->delivered(tag & 0xfffff, m->err);
        } else {
          host_.shard().add(g_stats->counter(
              m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? kDelivered : kDeliveryFailed));
        }
      }
      break;
    }
    case RD_KAFKA_EVENT_ERROR:
      host_.shard().add(g_stats->counter(kBrokerErrors));
      break;
    default:
      break;
  }
}

std::shared_ptr<plan::ProtocolRequest> compile(const proto::RequestInput& in) {
  bool step = in.action >= 0;
  auto r = std::make_shared<Request>();
  r->action = static_cast<uint8_t>(std::max(in.action, 0));
  proto::RequestInput norm = in;
  for (proto::Option& o : norm.options) std::replace(o.key.begin(), o.key.end(), '-', '_');
  std::vector<std::string> known = {"topic", "key",      "message_key", "consume",
                                    "group", "property", "timestamp",   "brokers"};
  proto::reject_unknown(norm, known);
  auto opt = [&](const char* key) { return proto::find_option(norm, key); };
  r->consume =
      step ? in.action == 1 : (opt("consume") != nullptr && proto::bool_option(*opt("consume")));
  if (step && opt("consume") != nullptr) {
    throw SetupError(fmt::format("{}: a step consumes with action = \"kafka.consume\"", in.where));
  }
  r->action_name = r->consume ? "kafka.consume" : "kafka.produce";
  r->verb = static_cast<uint8_t>(r->consume ? Verb::kReceive : Verb::kExchange);
  if (const proto::Option* o = opt("timestamp")) r->stamp = proto::bool_option(*o);
  r->brokers = fmt::format("{}:{}", in.url.host, in.url.port);
  if (const proto::Option* o = opt("brokers")) r->brokers += "," + o->value;
  std::string topic;
  if (const proto::Option* o = opt("topic")) {
    topic = o->value;
  } else {
    std::string_view path = in.url.target;
    while (path.starts_with("/")) path.remove_prefix(1);
    topic = percent_decode(path.substr(0, path.find('?')));
  }
  if (topic.empty()) {
    throw SetupError(
        fmt::format("{}: give the topic: kafka://broker:9092/TOPIC or topic = \"...\"", in.where));
  }
  if (r->consume) {
    const proto::Option* g = opt("group");
    r->group = g != nullptr ? g->value : "loadspiker";
    if (r->consume && topic.find("${") != std::string::npos) {
      throw SetupError(fmt::format("{}: a consumer's topic is fixed (no templates)", in.where));
    }
    if (in.payload_given) {
      throw SetupError(fmt::format("{}: consuming sends nothing: remove the body", in.where));
    }
  } else if (opt("group") != nullptr) {
    throw SetupError(fmt::format("{}: group applies to consumers (--consume)", in.where));
  }
  for (const proto::Option* o : proto::find_all(norm, "property")) {
    size_t eq = o->value.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw SetupError(fmt::format("{}: {} is NAME=VALUE (linger.ms=5)", o->where, o->key));
    }
    r->properties.emplace_back(o->value.substr(0, eq), o->value.substr(eq + 1));
  }
  // The properties are checked now, by librdkafka itself, before anything is sent.
  std::string err;
  rd_kafka_conf_t* conf = make_conf(*r, &err);
  if (conf == nullptr) throw SetupError(fmt::format("{}: Kafka property {}", in.where, err));
  rd_kafka_conf_destroy(conf);
  r->config_key = r->brokers;
  for (const auto& [k, v] : r->properties) r->config_key += "\n" + k + "=" + v;
  const proto::Option* key_option = opt("key") != nullptr ? opt("key") : opt("message_key");
  std::string key = key_option != nullptr ? key_option->value : "";
  if (!r->consume) {
    proto::read_payload(in, "payload_hex", *r);
    if (r->payload_literal) {
      throw SetupError(fmt::format("{}: give the message as text (-b / body)", in.where));
    }
  }
  std::string value = r->consume ? "" : r->payload;
  for (const std::string* s : {&topic, &key, &value}) {
    if (s->find(kSeparator) != std::string::npos) {
      throw SetupError(
          fmt::format("{}: the topic, key and message cannot hold the byte 0x1f", in.where));
    }
  }
  r->payload = topic + kSeparator + key + kSeparator + value;
  return r;
}

std::string describe(const plan::ProtocolRequest& pr) {
  const auto& r = static_cast<const Request&>(pr);
  std::string_view topic = std::string_view(r.payload).substr(0, r.payload.find(kSeparator));
  return r.consume ? fmt::format("consume {} in group {} from {}", topic, r.group, r.brokers)
                   : fmt::format("produce to {} on {}", topic, r.brokers);
}

std::unique_ptr<proto::Session> make_session(proto::SessionHost& host,
                                             const proto::SessionOptions& o) {
  return std::make_unique<Session>(host, o);
}

}  // namespace
}  // namespace spiker::kafka

void spiker_register_kafka() {
  using namespace spiker;
  metrics::StatBlockDef stats;
  stats.name = "kafka";
  stats.title = "Kafka";
  stats.counters.assign(std::begin(kafka::kCounterNames), std::end(kafka::kCounterNames));
  stats.histograms = {"end_to_end", "lag"};
  stats.count_histograms = {"lag"};  // messages behind the partition's end, per consumed one
  stats.summary = {"produced", "delivered", "delivery_failed", "consumed"};
  stats.per_second = {"delivered", "consumed"};
  kafka::g_stats = &metrics::StatBlocks::add(std::move(stats));
  proto::Protocol p;
  p.name = "kafka";
  p.schemes = {"kafka"};
  p.summary =
      "Kafka (kafka://broker:9092/topic): -b MESSAGE [--message-key K] [--property "
      "linger.ms=5], or --consume true --group G";
  p.label = "kafka";
  p.default_port = 9092;
  p.flags = {{"message-key", "kafka: the message key (templates allowed; a step's key)"},
             {"consume", "kafka: true: each VU is a consumer group member receiving messages"},
             {"group", "kafka: the consumer group (default loadspiker)"},
             {"timestamp", "kafka: true: stamp messages for end-to-end latency and order"},
             {"brokers", "kafka: more bootstrap brokers, host:port,host:port"},
             {"property", "kafka: a librdkafka property NAME=VALUE (repeatable)", true}};
  p.actions = {{"kafka.produce",
                proto::Verb::kExchange,
                {"topic", "key", "timestamp", "property", "brokers"},
                true,
                true},
               {"kafka.consume",
                proto::Verb::kReceive,
                {"topic", "group", "property", "brokers"},
                false,
                true}};
  p.stats = kafka::g_stats;
  p.compile = kafka::compile;
  p.make_session = kafka::make_session;
  p.describe = kafka::describe;
  proto::Registry::add(std::move(p));
}
