"""The bot's HTTP surface (aiohttp)."""
