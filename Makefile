# ward: the two commands a newcomer needs are `make run` and `make test`.
# Both install what is missing (Debian 12, as root), configure CMake and build.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
WERROR     := $(if $(CI),ON,OFF)
FUZZ_SECONDS ?= 15
SOAK_MINUTES ?= 30
ASAN_SOAK_MINUTES ?= 5

PREFIX     ?= /usr/local
DEB_BUILD  ?= build-deb
CROSS_BUILD ?= build-cross
APT_GET    := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600

DEB_PACKAGES := cmake make gcc clang libclang-rt-14-dev pkg-config \
	libldns-dev ldnsutils libuv1-dev liblmdb-dev lmdb-utils libcurl4-openssl-dev \
	libcjson-dev libcmocka-dev libpsl-dev libmicrohttpd-dev libsystemd-dev libssl-dev libidn2-dev \
	scdoc python3 \
	debhelper dpkg-dev lintian adduser util-linux bash-completion man-db groff-base \
	nsd knot knot-dnsutils bind9-dnsutils python3-dnspython python3-idna unbound dnsmasq-base \
	dnsperf valgrind iproute2 procps chromium fonts-dejavu-core prometheus dnsdist

# prometheus: promtool checks /metrics, and a real Prometheus scrapes it (test_obs.py).
# dnsdist: the load balancer in front of wardd with PROXY v2 (test_proxy.py).
# make test-cross: cross compilers, qemu-user and the arm64 libraries (multiarch); the
# s390x libraries are unpacked into a sysroot by tests/cross/run.sh (apt-get download).
CROSS_PACKAGES := crossbuild-essential-arm64 crossbuild-essential-s390x qemu-user file \
	libldns-dev:arm64 libuv1-dev:arm64 liblmdb-dev:arm64 libcurl4-openssl-dev:arm64 \
	libcjson-dev:arm64 libcmocka-dev:arm64 libpsl-dev:arm64 libmicrohttpd-dev:arm64 \
	libssl-dev:arm64 libidn2-dev:arm64
# libldns-dev's amd64 and arm64 builds ship different doxygen HTML at the same path, so
# they are co-installable only without it (ward needs neither copy).
LDNS_DOC_EXCLUDE := /etc/dpkg/dpkg.cfg.d/ward-cross-ldns-doc

.PHONY: all deps deps-cross build test test-unit test-asan test-tsan test-fuzz-short test-package test-cross \
	install deb run fuzz bench soak soak-asan clean

all: build

# Installs only the packages that are missing, so a second run costs a dpkg query.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install: $$missing" >&2; exit 1; fi; \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends $$missing; \
	fi
	@# The browser tests drive Debian's chromium with playwright-core (it downloads no browser).
	@if [ ! -d tests/browser/node_modules/playwright-core ]; then \
		command -v npm >/dev/null || { echo "npm is needed for the browser tests" >&2; exit 1; }; \
		cd tests/browser && npm ci --no-audit --no-fund; \
	fi

deps-cross: deps
	@if [ "$$(id -u)" != 0 ]; then echo "need root for the cross toolchains" >&2; exit 1; fi
	@added=; for a in arm64 s390x; do \
		dpkg --print-foreign-architectures | grep -qx $$a || { dpkg --add-architecture $$a; added=1; }; \
	done; \
	[ -f $(LDNS_DOC_EXCLUDE) ] || printf '%s\n' '# ward make test-cross: see the Makefile' \
		'path-exclude=/usr/share/doc/libldns-dev/*' > $(LDNS_DOC_EXCLUDE); \
	missing=$$(for p in $(CROSS_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$added$$missing" ]; then $(APT_GET) update -qq; fi; \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; \
		$(APT_GET) install -y -qq --no-install-recommends $$missing; fi

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DWARD_WERROR=$(WERROR)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-tsan
	$(MAKE) --no-print-directory test-fuzz-short
	$(MAKE) --no-print-directory test-package
	$(MAKE) --no-print-directory test-cross

# Everything again under AddressSanitizer + UBSan: the unit tests, the corpus replays, and
# the integration tests (a leak or error report makes wardd exit non-zero, which they check).
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DWARD_SANITIZE=ON -DWARD_WERROR=$(WERROR) >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j$(JOBS) -L 'unit|fuzz|integration' --timeout 900

# The threaded tests under ThreadSanitizer: workers share atomics (the policy, override and
# database pointers) and the LMDB remap lock. Only the tests that run threads in one
# process are built (test_catdb's threads run in fork()ed children, which TSan does not
# follow).
TSAN_TESTS := test_threads test_stats_threads
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DWARD_TSAN=ON -DWARD_WERROR=$(WERROR) -DWARD_MAN=OFF >/dev/null
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target $(TSAN_TESTS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		ctest --output-on-failure -R 'unit/($(subst $() ,|,$(TSAN_TESTS)))$$' --timeout 600

# A short libFuzzer run per target (make fuzz runs them longer).
test-fuzz-short: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DWARD_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

fuzz:
	$(MAKE) --no-print-directory test-fuzz-short FUZZ_SECONDS=$${FUZZ_SECONDS:-600}

# Router CPUs under qemu-user: arm64 unit tests + a wardd smoke test, s390x (big-endian)
# unit tests. Each run prints how long it took.
test-cross: deps-cross
	JOBS=$(JOBS) tests/cross/run.sh $(CROSS_BUILD) arm64 s390x

# Installs under $(PREFIX) (binaries, units, timer, man pages, completion, catalog); the
# config goes to /etc/ward unless one is there already. DESTDIR works as usual.
install: deps
	cmake -S . -B $(BUILD) -DWARD_WERROR=$(WERROR) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# The Debian package, built from a copy of the tree (dpkg-buildpackage writes to ..),
# then checked with lintian: errors fail the build. The .deb lands in $(DEB_BUILD)/.
deb: deps
	rm -rf $(DEB_BUILD) && mkdir -p $(DEB_BUILD)/ward
	git ls-files -co --exclude-standard | while read -r f; do [ -e "$$f" ] && echo "$$f"; done \
		| tar -cf - -T - | tar -xf - -C $(DEB_BUILD)/ward
	cd $(DEB_BUILD)/ward && dpkg-buildpackage -us -uc -b -j$(JOBS) >../build.log 2>&1 \
		|| { tail -40 ../build.log; exit 1; }
	lintian --fail-on error --info $(DEB_BUILD)/*.changes | tee $(DEB_BUILD)/lintian.txt
	@ls -l $(DEB_BUILD)/*.deb

# Installs the package system-wide, runs wardd and ward update the way the units do,
# purges it and checks that nothing is left behind (tests/package/test_package.py).
test-package: deb
	/usr/bin/python3 tests/package/test_package.py $(DEB_BUILD)/ward_*.deb

run: build
	tests/run/run.sh $(BUILD)

bench: build
	tests/bench/run.sh $(BUILD)

# Not in CI: wardd under dnsperf at 80% of the capacity it measures first, hostile clients,
# `ward update` every minute and a flapping upstream, for SOAK_MINUTES; the figures go to
# stdout, $(BUILD)/soak.json and the README's Soak section (tests/soak/soak.py). A 60 s
# version runs in `make test` (integration/test_soak_short).
soak: build
	SOAK_COMMAND="make soak SOAK_MINUTES=$(SOAK_MINUTES)" /usr/bin/python3 tests/soak/soak.py \
		--build $(BUILD) --minutes $(SOAK_MINUTES) --readme README.md --out $(BUILD)/soak.json

# The same against the ASan+UBSan build for ASAN_SOAK_MINUTES (wardd and ward update);
# its summary goes to the README too.
soak-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DWARD_SANITIZE=ON -DWARD_WERROR=$(WERROR) >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	SOAK_COMMAND="make soak-asan ASAN_SOAK_MINUTES=$(ASAN_SOAK_MINUTES)" \
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		/usr/bin/python3 tests/soak/soak.py --build $(ASAN_BUILD) --label asan \
		--minutes $(ASAN_SOAK_MINUTES) --readme README.md --out $(ASAN_BUILD)/soak.json

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD) $(CROSS_BUILD)
