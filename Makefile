# Shortcuts for the scripts in scripts/, which are what the README and CI use.
.PHONY: install demo test
install:
	scripts/install
demo:
	scripts/demo
test:
	scripts/test
