#include "core/resolver.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"

namespace spiker {
namespace {

TEST(Resolver, ResolvesLiteralsAndRejectsUnknownNames) {
  auto v4 = resolve("127.0.0.1", 8080);
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0].to_string(), "127.0.0.1:8080");
  EXPECT_THROW(resolve("no-such-host.invalid", 80), SetupError);
}

TEST(Resolver, ReachableDropsAddressesThatRefuse) {
  int listener = listen_tcp("127.0.0.1", 0, false);
  int open_port = local_port(listener);
  int closed = listen_tcp("127.0.0.1", 0, false);
  int closed_port = local_port(closed);
  close(closed);
  SocketAddress good = resolve("127.0.0.1", static_cast<uint16_t>(open_port))[0];
  SocketAddress bad = resolve("127.0.0.1", static_cast<uint16_t>(closed_port))[0];

  std::vector<SocketAddress> dropped;
  auto ok = reachable({bad, good}, 1000, &dropped);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].to_string(), good.to_string());
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].to_string(), bad.to_string());

  dropped.clear();
  auto all = reachable({bad, bad}, 1000, &dropped);  // none answers: keep all, report failures
  EXPECT_EQ(all.size(), 2u);
  EXPECT_TRUE(dropped.empty());
  close(listener);
}

}  // namespace
}  // namespace spiker
