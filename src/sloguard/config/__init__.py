"""The server configuration file (global, storage, scrape_configs, rule_files, ...)."""
