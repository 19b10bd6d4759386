#include "protocols/mongo/scram.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <cstdlib>
#include <vector>

#include "core/base64.h"

namespace spiker::mongo {
namespace {

using Digest = std::array<unsigned char, 32>;

Digest hmac(const Digest& key, std::string_view msg) {
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &len);
  return out;
}

std::string_view bytes(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// PBKDF2 of a password is costly by design (thousands of rounds): once per worker thread and
// (password, salt, rounds), not per connection.
const Digest& salted_password(const std::string& password, const std::string& salt, int rounds) {
  struct Entry {
    std::string password, salt;
    int rounds;
    Digest key;
  };
  thread_local std::vector<Entry> cache;
  for (const Entry& e : cache) {
    if (e.rounds == rounds && e.salt == salt && e.password == password) return e.key;
  }
  Entry e{password, salt, rounds, {}};
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), rounds, EVP_sha256(),
                    static_cast<int>(e.key.size()), e.key.data());
  if (cache.size() >= 16) cache.erase(cache.begin());
  cache.push_back(std::move(e));
  return cache.back().key;
}

}  // namespace

std::string_view scram_field(std::string_view msg, char key) {
  while (!msg.empty()) {
    size_t comma = msg.find(',');
    std::string_view part = msg.substr(0, comma);
    if (part.size() >= 2 && part[0] == key && part[1] == '=') return part.substr(2);
    if (comma == std::string_view::npos) break;
    msg.remove_prefix(comma + 1);
  }
  return {};
}

bool scram_final(std::string_view first_bare, std::string_view server_first, std::string_view nonce,
                 const std::string& password, std::string* client_final,
                 std::string* server_signature) {
  std::string_view server_nonce = scram_field(server_first, 'r');
  std::string salt = base64_decode(scram_field(server_first, 's'));
  int rounds = std::atoi(std::string(scram_field(server_first, 'i')).c_str());
  if (!server_nonce.starts_with(nonce) || salt.empty() || rounds < 4096) return false;
  const Digest& salted = salted_password(password, salt, rounds);
  Digest client_key = hmac(salted, "Client Key");
  Digest stored{};
  SHA256(client_key.data(), client_key.size(), stored.data());
  std::string without_proof = "c=biws,r=" + std::string(server_nonce);
  std::string auth_message =
      std::string(first_bare) + "," + std::string(server_first) + "," + without_proof;
  Digest signature = hmac(stored, auth_message);
  Digest proof{};
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ signature[i];
  *server_signature = base64_encode(bytes(hmac(hmac(salted, "Server Key"), auth_message)));
  *client_final = without_proof + ",p=" + base64_encode(bytes(proof));
  return true;
}

}  // namespace spiker::mongo
