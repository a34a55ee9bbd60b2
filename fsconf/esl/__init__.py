"""Event Socket Layer: the only package that knows FreeSWITCH Event Socket bytes."""
