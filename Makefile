# The two commands of a fresh Debian 12 machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := python3-venv libyang2-dev
TEST_APT_PACKAGES := libyang2-tools openssh-server openssh-client kamailio kamailio-sqlite-modules \
                     sip-tester yangcli ansible python3-ncclient debootstrap iproute2 nftables conntrack \
                     tshark

.PHONY: run test bench bench-netconf system-deps test-system-deps clean

run: $(VENV)/.installed
	$(VENV)/bin/besip

test: $(VENV)/.installed-test
	@scripts/asterisk-chroot
	$(PY) -m pytest -q

# Each benchmark is one command printing its numbers; `make bench` runs them all but the
# NETCONF one, which installs Debian's netconfd for the side-by-side comparison.
bench: $(VENV)/.installed-test
	$(PY) benchmarks/run.py
	$(PY) benchmarks/shell.py
	$(PY) benchmarks/commit_extensions.py
	$(PY) benchmarks/registration_throughput.py

bench-netconf: $(VENV)/.installed-test
	$(PY) benchmarks/netconf_vs_netconfd.py

# System packages: installed when missing (needs root only the first time).
system-deps:
	@scripts/need-apt $(APT_PACKAGES)

test-system-deps: system-deps
	@scripts/need-apt $(TEST_APT_PACKAGES)

$(VENV)/.installed: pyproject.toml | system-deps
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed | test-system-deps
	$(PY) -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV)
