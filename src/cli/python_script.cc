// `loadspiker run script.py`: a Python test file runs as `python3 script.py` would, with the
// loadspiker package importable (the build tree's, beside this binary, or the installed one),
// so that the CLI stays the one entry point.
#include <fmt/format.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/run_args.h"
#include "core/error.h"

namespace spiker::cli {

int run_python_script(const RunArgs& a) {
  namespace fs = std::filesystem;
  if (!fs::is_regular_file(a.url)) {
    throw SetupError(fmt::format("'{}': no such Python file; check the path", a.url), kExitError);
  }
  // Flags other than the script would be silently ignored: the script sets its own load.
  for (const char* flag : {"--concurrency", "--duration", "--rate", "--arrival-rate", "--stage",
                           "--output", "--json", "--threads", "--max-requests", "--iterations"}) {
    if (flag_given(a, flag)) {
      throw SetupError(
          fmt::format("{}: a Python script sets its own load and outputs "
                      "(Engine.run_scenario(...)); run it without {}",
                      a.url, flag));
    }
  }
  // The build tree keeps the package in <build>/python, this binary in <build>/src/cli.
  char self[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    fs::path package =
        fs::path(std::string(self, static_cast<size_t>(n))).parent_path() / ".." / ".." / "python";
    if (fs::exists(package / "loadspiker" / "__init__.py")) {
      std::string path = fs::weakly_canonical(package).string();
      const char* old = std::getenv("PYTHONPATH");
      if (old != nullptr && *old != '\0') path += std::string(":") + old;
      ::setenv("PYTHONPATH", path.c_str(), 1);
    }
  }
  // The active virtual environment's interpreter (pip installed the package there), else
  // Debian's (its modules), whatever python3 comes first on PATH.
  std::string venv_python;
  if (const char* venv = std::getenv("VIRTUAL_ENV"); venv != nullptr && *venv != '\0') {
    venv_python = std::string(venv) + "/bin/python3";
  }
  const char* python = !venv_python.empty() && ::access(venv_python.c_str(), X_OK) == 0
                           ? venv_python.c_str()
                       : ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                                 : "python3";
  std::vector<char*> argv = {const_cast<char*>(python), const_cast<char*>(a.url.c_str()), nullptr};
  std::fflush(nullptr);
  ::execvp(python, argv.data());
  throw SetupError(fmt::format("cannot start {} for {}: {}", python, a.url, std::strerror(errno)),
                   kExitError);
}

}  // namespace spiker::cli
