# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Documentation that is tested.  `make check-docs` checks every C and shell
# code block of README.md, docs/**/*.md, examples/README.md and the
# EXAMPLES sections of man/man3/*.3: C programs are compiled against the
# built library and run, fragments compiled, safe `pidshim` commands run
# with their exit status checked (ci/check-docs.py says how, and the
# conventions a block follows).  One test per block, suite "docs".
# `make check-docs-selftest` runs the checker on fixtures of good and bad
# blocks (ci/check-docs-fixture.*), suite "docs-selftest", so that a
# checker that stopped finding mistakes fails too.
#   DOCS_CCS    the compilers every C block must build with
#               (default: $(CC), and clang when it is installed and
#               no sanitizer is asked for: the runtimes do not mix)
#   DOCS_FILES  check only these documents (any .md, or man page)
# With SANITIZE=1 the programs are built and run with the sanitizers too.

DOCS_CCS ?= $(CC) $(if $(SANFLAGS),,$(shell command -v clang >/dev/null 2>&1 && echo clang))
DOCS_FILES ?=

.PHONY: check-docs check-docs-selftest

check-docs: lib cli
	ci/check-docs.py --build $(BUILD) $(addprefix --cc ,$(DOCS_CCS)) \
		--cflags "$(SANFLAGS)" $(DOCS_FILES)

check-docs-selftest: lib cli
	ci/check-docs-selftest.sh $(BUILD) $(DOCS_CCS)

CHECK_TARGETS += check-docs check-docs-selftest
