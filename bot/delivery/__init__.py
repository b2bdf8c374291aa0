"""The outbox: side effects delivered after commit, in order per incident, exactly once in effect."""
