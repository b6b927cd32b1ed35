"""Neam language and agent runtime."""
