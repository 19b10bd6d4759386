// RESP (the Redis serialization protocol, RESP2 replies and RESP3's common types): commands
// encoded as arrays of bulk strings, replies parsed incrementally.
#pragma once

#include <cstddef>
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

// Parses one reply at the start of `in`: its length in bytes (0: incomplete; SIZE_MAX: not
// RESP) and the reply.
size_t parse_reply(std::string_view in, Reply* out);

}  // namespace spiker::redis
