// `loadspiker run` inside another program (the Python API): the same flags, compile, engine and
// result JSON as the command line, with the config as text and progress to a callback.
#pragma once

#include <string>
#include <vector>

#include "cli/run_args.h"

namespace spiker::cli {

struct EmbeddedResult {
  int exit_code = 0;  // as `loadspiker run` would exit (core/error.h)
  std::string json;   // the result (empty when the run did not start)
  std::string error;  // set: why it did not run (a bad flag or config), as the CLI words it
  bool interrupted = false;
};

// `flags` as they would follow `loadspiker run`; `hooks` carries the config text, the names the
// front end's messages use and the progress callback. One run at a time per process: a second
// caller meanwhile gets an error.
EmbeddedResult run_embedded(const std::vector<std::string>& flags, RunHooks& hooks);

}  // namespace spiker::cli
