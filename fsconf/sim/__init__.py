"""A FreeSWITCH simulator driven exactly like a real switch: through its Event Socket."""

from fsconf.sim.core import Simulator
from fsconf.sim.settings import CalleeBehaviour, SimSettings

__all__ = ["CalleeBehaviour", "SimSettings", "Simulator"]
