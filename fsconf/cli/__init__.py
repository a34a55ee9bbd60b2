"""Operator CLI: one small module per command group (argparse, stdlib only)."""
