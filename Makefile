# Counter TUI — the two commands a newcomer needs:
#   make run    set up everything, build the demo archive if missing, start the app on it
#   make test   set up everything (plus dev tools and a PostgreSQL for tests), run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := $(CURDIR)/.demo
STAMP  := $(VENV)/.installed
# The demo signs its certificates with keys in a plain file (counter_tui/demo/keyring_file.py),
# never in this machine's real keyring; a real office uses the system keyring.
DEMO_KEYRING := PYTHON_KEYRING_BACKEND=counter_tui.demo.keyring_file.DemoFileKeyring COUNTER_TUI_DEMO_KEYRING=$(DEMO)/demo-keyring.json
APP    := $(DEMO_KEYRING) $(BIN)/counter-tui --db sqlite:///$(DEMO)/archive.db --archive-root $(DEMO)/archive --data-dir $(DEMO)/data

.PHONY: run test demo system-deps system-deps-test locale clean

run: system-deps $(STAMP) $(DEMO)/.built
	$(APP)

test: system-deps-test $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	rm -rf $(DEMO)
	$(MAKE) $(DEMO)/.built

$(DEMO)/.built: | $(STAMP)
	rm -rf $(DEMO)
	$(APP) demo build
	touch $@

system-deps:
	@sh scripts/system-deps.sh run

system-deps-test:
	@sh scripts/system-deps.sh test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Counter TUI needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# Re-extract translatable strings, merge them into the catalogs, compile the .mo files.
locale: $(STAMP)
	$(BIN)/python scripts/update_locale.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
