// Errors of LoadSpiker's setup paths (CLI, config, output setup). The hot path never throws: it
// counts failures by enum (see metrics/error_kind.h).
#pragma once

#include <stdexcept>
#include <string>

namespace spiker {

// Exit codes, the same as Kaioken's (ARCHITECTURE.md "Exit codes").
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitRegression = 3,
  kExitThresholds = 4,
  kExitModelMismatch = 5,
  kExitInterrupted = 130,  // stopped by SIGINT, SIGTERM or SIGHUP: partial results written
};

// A user-facing error: what was wrong, where, and what to do instead. `main` maps it to an exit
// code and prints the message.
class SetupError : public std::runtime_error {
 public:
  explicit SetupError(const std::string& message, int exit_code = kExitUsage)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace spiker
