"""Built-in scenario files (YAML package data): korus-2018, auto-tariff-25, no-korus."""
