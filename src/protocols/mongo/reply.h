// MongoDB's OP_MSG replies as bytes: the message frame and what a command's reply document says
// (ok, the error, write errors, the documents of a cursor's first batch). No socket: the session
// feeds it what it read, and so do the unit test and the fuzz harness.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spiker::mongo {

inline constexpr size_t kMaxMessage = 48u << 20;  // the server's own maxMessageSizeBytes

// The OP_MSG at the start of `in`: its length (0: incomplete; SIZE_MAX: not an OP_MSG reply, or
// over kMaxMessage), the request it answers and its body document (section kind 0) as bytes.
size_t parse_op_msg(std::string_view in, int32_t* response_to, std::string_view* document);

// What a reply document says.
struct Reply {
  bool ok = false;  // "ok": 1 and no write errors
  bool write_error = false;
  int32_t code = 0;     // the error's code (ok false)
  std::string message;  // the error's message (ok false)
  int64_t rows = -1;    // documents in a cursor's first batch, or "n" (written); -1: none
  bool batch = false;   // rows are a cursor's first batch (found, not written)
  std::string body;     // `capture`: the first batch as a JSON array, or the reply as JSON
};

// Reads `document` (a BSON document's bytes); false when it is not one. `written`: the command
// writes ("n" counts its documents); `whole`: the body is the whole reply (a command), not the
// first batch.
bool read_reply(std::string_view document, bool capture, bool written, bool whole, Reply* out);

}  // namespace spiker::mongo
