# The two commands of the README, plus the steps they are made of.
#   make run    set everything up and run a sample program in a box
#   make test   set everything up and run the whole test suite (ctest)
# Everything is idempotent; the kernel and the built-in images are cached in
# $(BOXLITE_CACHE_DIR) (default ~/.cache/boxlite), keyed by their inputs.

BUILD ?= build
SHARE := $(BUILD)/share/boxlite
CMAKE_FLAGS ?=

.PHONY: all deps configure build kernel images run test fuzz bench clean

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

fuzz: deps
	@cmake -S . -B $(BUILD)-fuzz -DBOXLITE_FUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build $(BUILD)-fuzz -j2
	@cd $(BUILD)-fuzz && ctest -L fuzz --output-on-failure

bench: build
	@bash bench/boot.sh

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz
