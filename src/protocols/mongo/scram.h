// SCRAM-SHA-256's client side (RFC 5802, RFC 7677), as MongoDB's saslStart / saslContinue
// carry it: the client's final message from the server's first, and the server's signature to
// expect in its final message.
#pragma once

#include <string>
#include <string_view>

namespace spiker::mongo {

// "r=...,s=...,i=..." -> the value of `key` ("" when absent).
std::string_view scram_field(std::string_view msg, char key);

// From the client's first message without its header ("n=user,r=nonce"), the server's first
// message and the client's nonce: the client's final message and the server signature its
// final message must carry (base64). False when the server's message is not valid (its nonce
// does not extend ours, no salt, fewer than 4096 rounds). PBKDF2 runs once per worker thread
// and (password, salt, rounds).
bool scram_final(std::string_view first_bare, std::string_view server_first, std::string_view nonce,
                 const std::string& password, std::string* client_final,
                 std::string* server_signature);

}  // namespace spiker::mongo
