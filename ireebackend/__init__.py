"""hipsem's third backend: IREE's own HIP HAL driver over hipsem's CPU HIP runtime.

The SimPy and HIP backends run hipsem's re-implementation of IREE's HIP driver design
(`model/core/`). This backend runs the production driver instead: `iree-base-runtime`'s
`hip` driver, loaded in a worker subprocess (`ireebackend.worker`) with
`--hip_dylib_path` pointing at the CPU runtime (`hipbackend/cpu_runtime/`, a test
vehicle, not a GPU). Scenario ops become IREE calls (`ireebackend.session`), and the
checker judges each run from the CPU runtime's command trace (what the "device" ran and
when), never from IREE's own answers alone. docs/iree.md has the mapping, its limits,
and the findings.

Nothing here imports `iree` until the backend is selected (`ireebackend.runtime`).
"""
