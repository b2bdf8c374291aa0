"""Pure decisions and naming: no I/O, no database, no Slack; tested with plain values."""
