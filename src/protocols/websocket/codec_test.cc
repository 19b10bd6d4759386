#include "protocols/websocket/codec.h"

#include <gtest/gtest.h>

#include <string>

namespace spiker::websocket {
namespace {

const uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

TEST(Handshake, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(new_key(1, 2).size(), 24u);
}

TEST(Frames, MaskedHelloMatchesRfcExample) {
  std::string out;
  append_frame(out, Opcode::kText, "Hello", true, kMask);
  EXPECT_EQ(out, std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
  Reader server(true);
  server.append(out.data(), out.size());
  Event e = server.next();
  ASSERT_EQ(e.kind, Event::kMessage);
  EXPECT_EQ(e.payload, "Hello");
  EXPECT_EQ(server.next().kind, Event::kNone);
}

TEST(Frames, LengthsOf126And65536UseExtendedForms) {
  for (size_t n : {125u, 126u, 65535u, 65536u, 200000u}) {
    std::string out;
    std::string payload(n, 'x');
    append_frame(out, Opcode::kBinary, payload);
    Reader client(false);
    // Byte by byte for the head, then the rest: partial input waits.
    client.append(out.data(), 1);
    EXPECT_EQ(client.next().kind, Event::kNone);
    client.append(out.data() + 1, out.size() - 1);
    Event e = client.next();
    ASSERT_EQ(e.kind, Event::kMessage) << n;
    EXPECT_EQ(e.opcode, Opcode::kBinary);
    EXPECT_EQ(e.payload.size(), n);
  }
}

TEST(Frames, FragmentsAreJoinedAndControlFramesMayInterleave) {
  std::string out;
  append_frame(out, Opcode::kText, "Hel", false);
  append_frame(out, Opcode::kPing, "p");
  append_frame(out, Opcode::kContinuation, "lo", true);
  Reader r(false);
  r.append(out.data(), out.size());
  Event ping = r.next();
  EXPECT_EQ(ping.kind, Event::kPing);
  EXPECT_EQ(ping.payload, "p");
  Event msg = r.next();
  ASSERT_EQ(msg.kind, Event::kMessage);
  EXPECT_EQ(msg.payload, "Hello");
}

TEST(Frames, CloseCarriesItsCode) {
  std::string out;
  append_close(out, 1001, "bye");
  Reader r(false);
  r.append(out.data(), out.size());
  Event e = r.next();
  ASSERT_EQ(e.kind, Event::kClose);
  EXPECT_EQ(e.close_code, 1001);
  EXPECT_EQ(e.payload.substr(2), "bye");
  std::string empty;
  append_frame(empty, Opcode::kClose, "");
  Reader r2(false);
  r2.append(empty.data(), empty.size());
  EXPECT_EQ(r2.next().close_code, 1005);
}

Event read_one(const std::string& bytes, bool masked = false) {
  Reader r(masked);
  r.append(bytes.data(), bytes.size());
  return r.next();
}

TEST(Frames, ViolationsAreErrors) {
  EXPECT_EQ(read_one(std::string("\xC1\x00", 2)).kind, Event::kError);          // RSV1
  EXPECT_EQ(read_one(std::string("\x83\x00", 2)).kind, Event::kError);          // opcode 3
  EXPECT_EQ(read_one(std::string("\x09\x00", 2)).kind, Event::kError);          // fragmented ping
  EXPECT_EQ(read_one(std::string("\x80\x00", 2)).kind, Event::kError);          // lone continuation
  EXPECT_EQ(read_one(std::string("\x88\x01\x03", 3)).kind, Event::kError);      // 1-byte close
  EXPECT_EQ(read_one(std::string("\x88\x02\x03\xEE", 4)).kind, Event::kError);  // code 1006
  EXPECT_EQ(read_one(std::string("\x81\x02\xC3\x28", 4)).kind, Event::kError);  // bad UTF-8
  EXPECT_EQ(read_one(std::string("\x81\x7E\x00\x05hello", 9)).kind, Event::kError);  // long form
  std::string masked;
  append_frame(masked, Opcode::kText, "x", true, kMask);
  EXPECT_EQ(read_one(masked, false).kind, Event::kError);  // masked from a server
  std::string plain;
  append_frame(plain, Opcode::kText, "x");
  EXPECT_EQ(read_one(plain, true).kind, Event::kError);  // unmasked from a client
  Reader small(false, 10);
  std::string big;
  append_frame(big, Opcode::kBinary, std::string(11, 'x'));
  small.append(big.data(), big.size());
  Event e = small.next();
  EXPECT_EQ(e.kind, Event::kError);
  EXPECT_STREQ(e.error, "frame larger than the message limit");
}

TEST(Utf8, AcceptsValidAndRejectsOverlongAndSurrogates) {
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xE2\x82"));          // cut short
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

}  // namespace
}  // namespace spiker::websocket
