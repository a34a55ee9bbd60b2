"""Keypad controls: the pure DTMF grammar (`grammar`) and the actions it yields."""
