"""Composition root and lifetimes: builds every part once and wires them to the aiohttp app."""
