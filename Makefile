# Thin wrapper over scripts, CMake and ctest. See README.md.
BUILD   ?= build
ASAN    ?= build-asan
FUZZ    ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS    ?= 2
CMAKE   ?= cmake
BIN     := $(BUILD)/src/cli/loadspiker

.PHONY: all deps build asan fuzz-build fuzz test unit demo bench fmt clean

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

# The libFuzzer harnesses (clang, ASan + UBSan) and only what they fuzz.
fuzz-build:
	CC=clang CXX=clang++ $(CMAKE) -S . -B $(FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPIKER_FUZZ=ON
	ninja -C $(FUZZ) -j$(JOBS)

# Each harness for FUZZ_SECONDS (default 60) on its seed corpus.
fuzz: deps fuzz-build
	scripts/fuzz $(FUZZ) $(FUZZ_SECONDS)

test: deps build asan fuzz-build
	cd $(ASAN) && ctest --output-on-failure -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure
	scripts/fuzz $(FUZZ) 5

demo: deps build
	scripts/demo $(BIN)

bench: build
	scripts/install-deps --bench
	bench/http1-vs-wrk $(BIN)
	bench/connections-memory $(BIN)
	bench/pacing $(BIN)
	bench/h2-vs-h2load $(BIN)
	bench/ws-echo $(BIN)
	bench/soak $(BIN)
	bench/raw-echo $(BIN)
	bench/python-vs-cli $(BIN)
	bench/python-vs-locust $(BIN)
	bench/grid-scale $(BIN)
	bench/grid-vs-toml $(BIN)
	bench/redis-vs-redis-benchmark $(BIN)
	bench/postgres-vs-pgbench $(BIN)
	bench/mysql-vs-sysbench $(BIN)
	bench/mqtt-publish $(BIN)

fmt:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN)
