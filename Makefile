# Shortcuts for the scripts in scripts/, which are what the README and CI use.
.PHONY: install demo test bench
install:
	scripts/install
demo:
	scripts/demo
test:
	scripts/test
bench:
	scripts/bench
