"""The /incident command: parsing, permissions and what each subcommand does."""
