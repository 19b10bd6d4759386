#include "protocols/mongo/reply.h"

#include <bson/bson.h>
#include <gtest/gtest.h>

#include <string>

using namespace spiker::mongo;

namespace {

void put_i32(std::string& out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

// An OP_MSG answering request 7 with `json` as its document; `doc_len` (when not 0) replaces
// the document's own length field.
std::string op_msg(const char* json, int32_t doc_len = 0) {
  bson_error_t err;
  bson_t* doc = bson_new_from_json(reinterpret_cast<const uint8_t*>(json), -1, &err);
  std::string body(reinterpret_cast<const char*>(bson_get_data(doc)), doc->len);
  bson_destroy(doc);
  std::string out;
  put_i32(out, static_cast<int32_t>(16 + 4 + 1 + body.size()));
  put_i32(out, 1);     // request id
  put_i32(out, 7);     // response to
  put_i32(out, 2013);  // OP_MSG
  put_i32(out, 0);     // flags
  out.push_back('\0');
  out += body;
  if (doc_len != 0) {
    std::string len;
    put_i32(len, doc_len);
    out.replace(21, 4, len);
  }
  return out;
}

}  // namespace

TEST(MongoReply, ReadsAFirstBatch) {
  std::string m = op_msg(R"({"cursor": {"firstBatch": [{"a": 1}, {"a": 2}], "id": 0}, "ok": 1})");
  int32_t to = 0;
  std::string_view doc;
  ASSERT_EQ(parse_op_msg(m, &to, &doc), m.size());
  EXPECT_EQ(to, 7);
  EXPECT_EQ(parse_op_msg(std::string_view(m).substr(0, m.size() - 1), &to, &doc), 0u);
  Reply r;
  ASSERT_TRUE(read_reply(doc, true, false, false, &r));
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.batch);
  EXPECT_EQ(r.rows, 2);
  EXPECT_EQ(r.body, R"([{ "a" : 1 },{ "a" : 2 }])");
}

TEST(MongoReply, ReadsErrorsAndWriteErrors) {
  std::string m = op_msg(R"({"ok": 0, "code": 13, "errmsg": "unauthorized"})");
  int32_t to = 0;
  std::string_view doc;
  ASSERT_EQ(parse_op_msg(m, &to, &doc), m.size());
  Reply r;
  ASSERT_TRUE(read_reply(doc, false, false, false, &r));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, 13);
  EXPECT_EQ(r.message, "unauthorized");
  m = op_msg(R"({"ok": 1, "n": 0, "writeErrors": [{"index": 0, "code": 11000, "errmsg": "dup"}]})");
  ASSERT_EQ(parse_op_msg(m, &to, &doc), m.size());
  ASSERT_TRUE(read_reply(doc, false, true, false, &r));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.write_error);
  EXPECT_EQ(r.code, 11000);
}

// The audit's crash: a document length near INT32_MAX overflowed `21 + length` and was read
// out of bounds. Any length the message does not hold is refused.
TEST(MongoReply, RefusesADocumentLongerThanItsMessage) {
  for (int32_t len : {0x7FFFFFF0, 0x7FFFFFFF, 1 << 30, 1000, -5, 4}) {
    std::string m = op_msg(R"({"ok": 1})", len);
    int32_t to = 0;
    std::string_view doc;
    EXPECT_EQ(parse_op_msg(m, &to, &doc), SIZE_MAX) << len;
  }
  std::string huge;  // a message length over the bound is refused before it is buffered
  put_i32(huge, 0x7FFFFFF0);
  put_i32(huge, 1);
  put_i32(huge, 7);
  put_i32(huge, 2013);
  int32_t to = 0;
  std::string_view doc;
  EXPECT_EQ(parse_op_msg(huge, &to, &doc), SIZE_MAX);
}
