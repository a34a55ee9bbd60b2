"""fsconf: a hosted telephone-conferencing controller for FreeSWITCH."""

__version__ = "0.1.0"
