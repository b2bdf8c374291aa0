"""The application: incident transitions and the transaction scripts that apply them
(webhooks, commands, timers, capture, reconciliation)."""
