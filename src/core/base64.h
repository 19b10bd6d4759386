// Base64 (RFC 4648, with padding): HdrHistogram log payloads, Basic authentication.
#pragma once

#include <string>
#include <string_view>

namespace spiker {

std::string base64_encode(std::string_view bytes);
// Decodes up to the first '='; throws std::runtime_error on a character outside the alphabet.
std::string base64_decode(std::string_view text);

}  // namespace spiker
