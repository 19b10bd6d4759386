// RESP (the Redis serialization protocol, RESP2 replies and RESP3's common types): commands
// encoded as arrays of bulk strings, replies parsed incrementally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spiker::redis {

// Splits a command line into arguments as redis-cli does: spaces separate, "..." and '...'
// quote (with \n \r \t \\ \" \xHH escapes inside double quotes). False on an open quote.
bool split_command(std::string_view line, std::vector<std::string>* args);

// Appends the command as a RESP array of bulk strings.
void encode_command(const std::vector<std::string>& args, std::string& out);

// split_command then encode_command in one pass when the line has no quotes or backslashes
// (the usual command); `scratch` holds the arguments otherwise. The number of arguments
// (0: an empty line; -1: an open quote, nothing appended).
int encode_line(std::string_view line, std::string& out, std::vector<std::string>* scratch);

struct Reply {
  enum class Kind : unsigned char { kSimple, kError, kInteger, kBulk, kNull, kArray, kOther };
  Kind kind = Kind::kNull;
  std::string text;  // the value as checks read it: a string, a number, arrays as JSON
};

// Reads replies as their bytes arrive, keeping what it has of an unfinished one: the elements of
// an array already read are consumed, so a large reply that comes in pieces is parsed once (not
// again from its start on every read). A reply is bounded: 512 MiB a bulk string (Redis's own
// limit), 1,000,000 elements an array, 32 levels deep, kMaxReplyBytes of text in all.
class ReplyReader {
 public:
  enum class Status : unsigned char { kMore, kReply, kBad };
  static constexpr size_t kMaxReplyBytes = 64u << 20;
  // Reads from the start of `in`: *used is how many bytes it consumed (the caller drops them
  // before the next call, which passes what follows). kReply: `out` is a whole reply; kMore: the
  // rest is to come (pass the unconsumed bytes again with more); kBad: not RESP, or over a bound
  // (the connection cannot be trusted; reset() before reusing the reader).
  Status next(std::string_view in, size_t* used, Reply* out);
  // Forgets an unfinished reply (the connection closed).
  void reset() noexcept {
    stack_.clear();
    bytes_ = 0;
  }

 private:
  struct Frame {
    int64_t left = 0;  // elements still to come
    std::string json;  // the elements so far, as a JSON array without its ']'
  };
  // Adds a finished element to the array being read, or (none) makes it the reply: true when a
  // whole reply is ready in `out`.
  bool add(Reply& element, Reply* out);
  std::vector<Frame> stack_;
  size_t bytes_ = 0;  // text held for the unfinished reply
  Reply element_;     // the element being read: its buffer is reused (no allocation per reply)
};

// Parses one reply at the start of `in`: its length in bytes (0: incomplete; SIZE_MAX: not
// RESP) and the reply.
size_t parse_reply(std::string_view in, Reply* out);

}  // namespace spiker::redis
