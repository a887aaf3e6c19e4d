# The two commands of the README, plus the steps they are made of.
#   make run    set everything up and run a sample program in a box
#   make test   set everything up and run the whole test suite (ctest)
# Everything is idempotent; the kernel and the built-in images are cached in
# $(BOXLITE_CACHE_DIR) (default ~/.cache/boxlite), keyed by their inputs.

BUILD ?= build
SHARE := $(BUILD)/share/boxlite
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test test-sanitize fuzz bench clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

# Code, kernel and images: everything a box needs. No step after this needs root.
build: configure
	@cmake --build $(BUILD) -j2
	@bash scripts/build-kernel.sh $(SHARE)/vmlinux
	@bash scripts/build-images.sh $(SHARE)/images

run: build
	@$(BUILD)/bin/boxlite run --rm localhost/python:3.11 python3 -c "$$(cat examples/sample.py)"

test: build
	@cd $(BUILD) && ctest --output-on-failure -j2

# The suite again with AddressSanitizer + UBSan in build-asan/ (kernel and
# images come from the same cache). CTEST_ARGS narrows it, e.g. -L unit.
CTEST_ARGS ?=
test-sanitize:
	@$(MAKE) --no-print-directory build BUILD=build-asan CMAKE_FLAGS=-DBOXLITE_SANITIZE=ON
	@cd build-asan && ctest --output-on-failure -j2 $(CTEST_ARGS)

# Each fuzz target for 60 s (ctest runs them only briefly).
fuzz: build
	@for f in $(BUILD)/fuzz/fuzz_*; do [ -x "$$f" ] || continue; \
		echo "== $$f"; "$$f" -max_total_time=60 -max_len=4096 $$f.corpus || exit 1; done

bench: build
	@bash bench/boot.sh

clean:
	rm -rf $(BUILD) build-asan
