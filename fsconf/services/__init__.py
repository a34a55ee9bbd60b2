"""Domain services: pure policy and arithmetic, no sockets, no database, no clock."""
