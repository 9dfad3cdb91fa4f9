"""hipsem: timeline semaphores emulated on binary GPU events, modelled and tested.

Packages:
  model.core      the sans-I/O semaphore / pool / deferred-queue core
  model.device    the device protocol (the subset of HIP the core uses)
  model.sim       the SimPy device and the platform that drives the core in simulation
  model.scenario  scenario files, the runner, the checker and the report
"""

__version__ = "0.1.0"
