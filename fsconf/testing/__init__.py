"""Tools that drive a switch from outside, for tests, the demo and the benchmark.

They speak only the Event Socket protocol, so they drive the simulator and a real
FreeSWITCH 1.10 alike; nothing here imports fsconf.sim."""
