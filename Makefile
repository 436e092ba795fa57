# hivehook — what a newcomer types: `make demo`, `make test`; an operator: `make install`, `make deb`.
BUILD   ?= build
JOBS    ?= $(shell nproc)
PREFIX  ?= /usr/local
DESTDIR ?=
CMAKE_FLAGS ?=
# What the demo runs: the daemon and the e-commerce example's generator and ETL (no test binaries).
DEMO_TARGETS = hivehook hivehook-etl hivehook-gen
# Installed and packaged beside the daemon: the example's job and generator (hivehook-etl's
# PostgreSQL module is built with it).
PACKAGE_EXAMPLES = hivehook-etl hivehook-gen

.PHONY: deps configure build test test-sanitize demo install deb bench soak fuzz clean

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

configure: deps $(BUILD)/CMakeCache.txt

# Everything: the daemon, man pages, completion, examples, unit tests, fuzz replays.
build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The sanitizer job (not in .ci/run yet: its build alone took 4,500 CPU-seconds at -O1 -g1 on
# 2026-12-02 — about 37 min on CI's 2 idle cores — and CI's `make test` already takes ~41 of its
# 90 min; a smaller job over the parsers' and the pipeline's unit tests is the next step): the unit tests, the fuzz regression replays and
# the system tests again on an ASan + UBSan build in its own folder, build-asan/ (its objects never
# mix with build/'s: other flags, so other ccache keys). Left out: the PostgreSQL re-runs (the same
# daemon code over another store, already run by `make test`), and the tests of the package
# (test_package, the systemd container: the package of an ASan binary is not what ships) and of
# the README's figures (test_performance_doc reads documents, runs no binary). Any sanitizer report
# fails the test that triggered it (tests/support/fail-on-sanitizer-report).
SANITIZE_BUILD ?= build-asan
test-sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS='-O1 -g1 -DNDEBUG' -DHIVEHOOK_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900 -L 'unit|system|fuzz' \
	  -LE 'systemd|postgresql' -E '^system\.test_(package|performance_doc)$$'

demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target $(DEMO_TARGETS)
	BUILD=$(BUILD) scripts/demo

# Stripped binary, man pages, completion, systemd unit, sysusers/tmpfiles, example /etc/hivehook/
# (kept when present). `sudo make install`, or `make install DESTDIR=/tmp/stage PREFIX=/usr`.
install: configure
	cmake --build $(BUILD) -j $(JOBS) --target hivehook hivehook_docs $(PACKAGE_EXAMPLES)
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)" --component hivehook --strip

# hivehook_<version>_<arch>.deb in this folder (CPack; `apt install ./hivehook_*.deb`).
# The version names the commit (0.1.0+git<date>.<sha>, cmake/version.cmake): the previous package
# is removed first, so `apt install ./hivehook_*.deb` names one file, the new one.
deb: configure
	cmake --build $(BUILD) -j $(JOBS) --target hivehook hivehook_docs $(PACKAGE_EXAMPLES)
	rm -f $(BUILD)/packages/hivehook_*.deb hivehook_*.deb
	cd $(BUILD) && cpack -G DEB --config CPackConfig.cmake
	cp $(BUILD)/packages/hivehook_*.deb .

bench: build
	@scripts/install-deps --bench
	bench/run

# The reliability soak, then the cluster chaos test's long form (5,000 files over three nodes on one
# PostgreSQL state: kill -9, SIGSTOP past the lease, a PostgreSQL restart; tests/system/test_cluster.py).
soak: build
	bench/soak --minutes 10
	cd tests/system && HIVEHOOK_BIN=$(abspath $(BUILD))/hivehook HIVEHOOK_SOURCE_DIR=$(CURDIR) \
	  HIVEHOOK_CHAOS_FILES=5000 /usr/bin/python3 -m unittest -v test_cluster.ClusterChaos

fuzz: deps
	scripts/fuzz

clean:
	rm -rf $(BUILD)
