# Thin wrapper over scripts, CMake and ctest. See README.md.
BUILD   ?= build
ASAN    ?= build-asan
JOBS    ?= 2
CMAKE   ?= cmake
BIN     := $(BUILD)/src/cli/loadspiker

.PHONY: all deps build asan test unit demo bench fmt clean

all: build

deps:
	scripts/install-deps

build:
	$(CMAKE) -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	ninja -C $(BUILD) -j$(JOBS)

# Core, metrics and HTTP/1.1 parser unit tests under AddressSanitizer + UBSan.
asan:
	$(CMAKE) -S . -B $(ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPIKER_SANITIZE=ON -DSPIKER_UNIT_TESTS_ONLY=ON
	ninja -C $(ASAN) -j$(JOBS)

test: deps build asan
	cd $(ASAN) && ctest --output-on-failure -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure

demo: deps build
	scripts/demo $(BIN)

bench: build
	scripts/install-deps --bench
	bench/http1-vs-wrk $(BIN)
	bench/connections-memory $(BIN)
	bench/pacing $(BIN)
	bench/h2-vs-h2load $(BIN)
	bench/ws-echo $(BIN)
	bench/raw-echo $(BIN)

fmt:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN)
