# ward: the two commands a newcomer needs are `make run` and `make test`.
# Both install what is missing (Debian 12, as root), configure CMake and build.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
WERROR     := $(if $(CI),ON,OFF)
FUZZ_SECONDS ?= 15

DEB_PACKAGES := cmake make gcc clang libclang-rt-14-dev pkg-config \
	libldns-dev ldnsutils libuv1-dev liblmdb-dev lmdb-utils libcurl4-openssl-dev \
	libcjson-dev libcmocka-dev libpsl-dev libmicrohttpd-dev \
	nsd knot knot-dnsutils bind9-dnsutils python3-dnspython unbound dnsmasq-base \
	dnsperf valgrind iproute2 procps chromium fonts-dejavu-core

.PHONY: all deps build test test-unit test-asan test-fuzz-short run fuzz bench clean

all: build

# Installs only the packages that are missing, so a second run costs a dpkg query.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install: $$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# The browser tests drive Debian's chromium with playwright-core (it downloads no browser).
	@if [ ! -d tests/browser/node_modules/playwright-core ]; then \
		command -v npm >/dev/null || { echo "npm is needed for the browser tests" >&2; exit 1; }; \
		cd tests/browser && npm ci --no-audit --no-fund; \
	fi

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DWARD_WERROR=$(WERROR)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz-short

# Everything again under AddressSanitizer + UBSan: the unit tests, the corpus replays, and
# the integration tests (a leak or error report makes wardd exit non-zero, which they check).
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DWARD_SANITIZE=ON -DWARD_WERROR=$(WERROR) >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j$(JOBS) -L 'unit|fuzz|integration' --timeout 900

# A short libFuzzer run per target (make fuzz runs them longer).
test-fuzz-short: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DWARD_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

fuzz:
	$(MAKE) --no-print-directory test-fuzz-short FUZZ_SECONDS=$${FUZZ_SECONDS:-600}

run: build
	tests/run/run.sh $(BUILD)

bench: build
	tests/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
