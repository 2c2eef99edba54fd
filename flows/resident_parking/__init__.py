"""Resident parking permits (beboerparkering): the second process, written on the process API.

Importing the package declares the process (process.py), its rules (rules.py) and its
carry-outs (carry_out.py), then registers it, which checks it and refuses it at load
if it is declared wrongly.
"""

from checkpoints import processes
from flows.resident_parking import carry_out, rules
from flows.resident_parking.process import NAME, parking

processes.register(parking)

__all__ = ["NAME", "carry_out", "parking", "rules"]
