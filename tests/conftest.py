"""Shared fixtures for every test package."""
