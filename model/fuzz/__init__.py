"""Property campaigns (`hipsem fuzz`): generated scenarios on the SimPy backend.

`campaign` runs and shrinks, `replay` saves and loads counterexamples, `profiles` holds
the Hypothesis profiles (dev, ci, thorough), `cli` is the command line.
"""
