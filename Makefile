# Thin wrapper around CMake. `make demo` and `make test` do all the set-up.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

DEB_PACKAGES = build-essential cmake pkg-config libzydis-dev libelf-dev libdw-dev \
               libedit-dev libseccomp-dev libcmocka-dev clang libclang-rt-14-dev \
               binutils lua5.4 gdb strace tmux scdoc

.PHONY: all deps build demo test test-plain test-asan test-fuzz bench install clean

all: build

# Install the Debian packages that are missing (with sudo when not root).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/build.ninja $(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./demo/run $(BUILD)

# Every test: the normal build, then the same tests under ASan+UBSan,
# then the fuzz targets for a bounded number of runs.
test: deps
	$(MAKE) --no-print-directory test-plain
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan:
	@test -f $(BUILD_ASAN)/CMakeCache.txt || cmake -S . -B $(BUILD_ASAN) -DHDBG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE no-asan

test-fuzz:
	@test -f $(BUILD_FUZZ)/CMakeCache.txt || CC=clang cmake -S . -B $(BUILD_FUZZ) -DHDBG_FUZZ=ON -DHDBG_TESTS=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target hd_fuzz
	cd $(BUILD_FUZZ) && ctest --output-on-failure -L fuzz

bench: build
	./bench/run $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
