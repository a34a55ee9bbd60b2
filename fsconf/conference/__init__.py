"""Conference control: live rooms, keypad actions, mod_conference commands, dial-out."""
