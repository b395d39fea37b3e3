"""Factories and assertions shared by the API tests."""
