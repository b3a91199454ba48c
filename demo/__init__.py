"""The demo: a real Home Assistant with Tesla Wallbox and simulated cars (scripts/develop)."""
