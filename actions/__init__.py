"""Thin rasa_sdk actions: translate trackers into `bot.bank` calls and back."""
