"""Running Rasa's server for the helpline: `python -m bot.serving run ...`."""
