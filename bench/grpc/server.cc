// The gRPC benchmark's server: grpc++ (a server we did not write) serving shop.Items/GetItem
// from tests/integration/grpc/shop.proto, built by bench/grpc-vs-h2load. Counts its calls and
// prints the count on SIGTERM, so the bench can check both tools' calls all reached it.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "shop.grpc.pb.h"

namespace {
std::atomic<uint64_t> g_calls{0};
std::atomic<bool> g_stop{false};

class Items final : public shop::Items::Service {
  grpc::Status GetItem(grpc::ServerContext*, const shop::ItemRequest* req,
                       shop::Item* out) override {
    g_calls.fetch_add(1, std::memory_order_relaxed);
    out->set_id(req->id());
    out->set_name("item-" + std::to_string(req->id()));
    return grpc::Status::OK;
  }
};
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: server PORT\n");
    return 2;
  }
  Items service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(std::string("127.0.0.1:") + argv[1], grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::printf("ready\n");
  std::fflush(stdout);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server->Shutdown();
  std::printf("calls %llu\n", static_cast<unsigned long long>(g_calls.load()));
  return 0;
}
