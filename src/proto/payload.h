// Payload options shared by byte-stream and datagram protocols: C escapes in text
// ("PING\r\n", "\x00\x01"), hex (--payload-hex / payload_hex) and positive sizes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/protocol.h"

namespace spiker::proto {

// Turns \n \r \t \0 \\ \xHH in `text` into bytes; other text (and ${...}) stays. Throws
// SetupError naming `where` for a bad escape.
std::string decode_escapes(std::string_view text, std::string_view where);
// "48 45 4c 4c 4f", "48454c4c4f" or "0x48 0x45": bytes. Throws SetupError naming `where`.
std::string decode_hex(std::string_view text, std::string_view where);
// The option named `key` (flag or step key), or nullptr; throws SetupError when it is given
// more than once.
const Option* find_option(const RequestInput& in, std::string_view key);
// Every value of a repeated flag (--param a --param b) or array key (params = ["a", 2]), in order.
std::vector<const Option*> find_all(const RequestInput& in, std::string_view key);
// true/1/yes or false/0/no; throws SetupError naming the option.
bool bool_option(const Option& o);
// A whole number >= 1; throws SetupError naming the option.
uint64_t positive_option(const Option& o);
// Sets r.payload from -b/body (escapes decoded, ${...} kept) or from payload_hex (literal),
// rejecting both at once.
void read_payload(const RequestInput& in, std::string_view hex_key, plan::ProtocolRequest& r);
// Rejects options the protocol does not know (a step key of another action, say).
void reject_unknown(const RequestInput& in, const std::vector<std::string>& known);

}  // namespace spiker::proto
