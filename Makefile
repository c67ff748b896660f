# Thin wrapper: the real work is in CMake, CTest and scripts/ (README).
BUILD ?= build

.PHONY: build test bench serve

build:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	ninja -C $(BUILD) -j2

test:
	bash scripts/test.sh

# BENCH_DURATION=10, BENCH_RUNS=3, BENCH_PHASES=logs: see docs/bench.md.
bench:
	bash scripts/bench.sh

serve:
	bash scripts/serve.sh
