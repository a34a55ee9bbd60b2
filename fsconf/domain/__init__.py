"""The pure domain: rules and catalogues with no database, no sockets, no gevent, no clock."""
