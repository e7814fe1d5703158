"""Pronunciation dictionaries (``/v2/pronunciation-dictionaries``), cited by a persona's ``layers.tts``."""
