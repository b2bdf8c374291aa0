"""Strict loopback fakes of services that cannot run here, written from their public API documentation."""
