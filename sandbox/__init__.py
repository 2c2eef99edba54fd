"""The sandbox: a stand-in Danish municipal case system for the robots to drive.

`create_app(seed, settings)` builds the web app; `SandboxServer` runs it on a
port in a background thread; `load_seed` reads a seed file of the data contract
and `generate_sample` makes one.
"""

from sandbox.app import create_app
from sandbox.sample import generate_sample
from sandbox.seed import Seed, SeedError, load_seed, parse_seed
from sandbox.server import SandboxServer, serve

__all__ = [
    "SandboxServer",
    "Seed",
    "SeedError",
    "create_app",
    "generate_sample",
    "load_seed",
    "parse_seed",
    "serve",
]
