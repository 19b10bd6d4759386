#include "protocols/redis/resp.h"

#include <gtest/gtest.h>

using namespace spiker::redis;

TEST(Resp, SplitsAsRedisCli) {
  std::vector<std::string> a;
  ASSERT_TRUE(split_command("SET key \"two words\\n\" 'single q'", &a));
  EXPECT_EQ(a, (std::vector<std::string>{"SET", "key", "two words\n", "single q"}));
  EXPECT_FALSE(split_command("GET \"open", &a));
  ASSERT_TRUE(split_command("  PING  ", &a));
  EXPECT_EQ(a, (std::vector<std::string>{"PING"}));
}

TEST(Resp, EncodesArraysOfBulkStrings) {
  std::string out;
  encode_command({"SET", "k", ""}, out);
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(Resp, EncodesLinesInOnePassAsSplitAndEncodeWould) {
  std::vector<std::string> scratch;
  for (const char* line :
       {"SET key:1 v", "  PING  ", "GET\tk\r\n", "SET k \"two words\"", "SET k 'q' \"\\x41\""}) {
    std::string fast, slow;
    std::vector<std::string> args;
    ASSERT_TRUE(split_command(line, &args));
    encode_command(args, slow);
    EXPECT_EQ(encode_line(line, fast, &scratch), static_cast<int>(args.size())) << line;
    EXPECT_EQ(fast, slow) << line;
  }
  std::string out;
  EXPECT_EQ(encode_line("   ", out, &scratch), 0);
  EXPECT_EQ(encode_line("GET \"open", out, &scratch), -1);
  EXPECT_EQ(out, "");
}

TEST(Resp, ParsesRepliesIncrementally) {
  Reply r;
  EXPECT_EQ(parse_reply("+OK\r\n", &r), 5u);
  EXPECT_EQ(r.kind, Reply::Kind::kSimple);
  EXPECT_EQ(r.text, "OK");
  EXPECT_EQ(parse_reply("$5\r\nhel", &r), 0u);  // incomplete
  EXPECT_EQ(parse_reply("$5\r\nhello\r\n", &r), 11u);
  EXPECT_EQ(r.text, "hello");
  EXPECT_EQ(parse_reply("$-1\r\n", &r), 5u);
  EXPECT_EQ(r.kind, Reply::Kind::kNull);
  EXPECT_EQ(parse_reply(":42\r\n", &r), 5u);
  EXPECT_EQ(r.text, "42");
  EXPECT_EQ(parse_reply("-WRONGTYPE bad\r\n", &r), 16u);
  EXPECT_EQ(r.kind, Reply::Kind::kError);
  EXPECT_EQ(parse_reply("*3\r\n$1\r\na\r\n:2\r\n$-1\r\n", &r), 20u);
  EXPECT_EQ(r.text, "[\"a\",2,null]");
  EXPECT_EQ(parse_reply("*2\r\n$1\r\na\r\n", &r), 0u);    // the second element is to come
  EXPECT_EQ(parse_reply("%1\r\n+k\r\n:1\r\n", &r), 12u);  // RESP3 map
  EXPECT_EQ(r.text, "[\"k\",1]");
  EXPECT_EQ(parse_reply("?what\r\n", &r), SIZE_MAX);
  EXPECT_EQ(parse_reply("$x\r\n", &r), SIZE_MAX);
  EXPECT_EQ(parse_reply("*1\r\n*1\r\n*1\r\n:1\r\n", &r), 16u);
}
