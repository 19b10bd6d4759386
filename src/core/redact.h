// Secrets in outputs. Header and query-parameter names that look like credentials (auth, token,
// key, secret, session, password, cookie, ...) and the names a user adds (--redact, TOML
// `redact`) have their values printed as "<redacted>"; URL user-info is never printed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace spiker {

inline constexpr std::string_view kRedacted = "<redacted>";

// True when a header or query parameter called `name` carries a secret (case-insensitive).
bool is_secret_name(std::string_view name);
inline bool is_secret_header(std::string_view name) { return is_secret_name(name); }

// Names to treat as secrets besides the patterns; call before the run (not thread-safe).
void add_secret_names(const std::vector<std::string>& names);

// `url` as it may be printed: user-info ("user:pass@") and secret query values redacted.
std::string redact_url(std::string_view url);

// `text` (a line of a file quoted in an error) with every URL in it redacted as redact_url
// does. `*col`, a byte offset into `text`, is moved to where it points in the result.
std::string redact_urls_in(std::string_view text, size_t* col);

}  // namespace spiker
