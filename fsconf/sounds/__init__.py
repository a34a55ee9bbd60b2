"""Prompt sound files: stand-ins generated from the prompt catalogue (`make sounds`).

`fsconf.sounds.generate` speaks every catalogue prompt and the number words FreeSWITCH's
`say` needs, in Dutch and English, into FreeSWITCH's sound-folder layout. The files are
stand-ins until studio recordings with the same names replace them.
"""
