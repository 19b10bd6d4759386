/* A Kafka cluster for the tests: librdkafka's mock brokers in this process (no Kafka broker is
 * packaged for Debian). Usage: kafka_mock BROKERS TOPIC:PARTITIONS...; prints the bootstrap
 * servers on one line, then serves until stdin closes or a signal. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: kafka_mock BROKERS TOPIC:PARTITIONS...\n");
    return 2;
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    fprintf(stderr, "kafka_mock: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, atoi(argv[1]));
  if (mc == nullptr) {
    fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
    return 1;
  }
  for (int i = 2; i < argc; ++i) {
    char* colon = strchr(argv[i], ':');
    int partitions = colon != nullptr ? atoi(colon + 1) : 1;
    if (colon != nullptr) *colon = '\0';
    rd_kafka_mock_topic_create(mc, argv[i], partitions, 1);
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
