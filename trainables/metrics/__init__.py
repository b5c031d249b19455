"""Every measure of a candidate, each defined once in the module that computes it.

Import from the modules themselves: the package stays empty so that ``emissions`` (which the CLI
uses to check ``--country``) does not pull in torch.

| metric | unit | defined in |
|---|---|---|
| ``depth`` | layers, ResNet naming (2·sum(m)+2) | ``trainables.spec.ArchSpec.depth`` |
| ``params`` | trainable parameters | ``size`` |
| ``macs`` | multiply-accumulates, one image | ``size`` |
| ``memory_mb`` | MB of float32 weights | ``size`` |
| ``cpu_latency_ms`` | ms, batch 1, 1 thread, median | ``latency`` |
| ``train_seconds`` | wall seconds of the training epochs | ``trainables.train_loop`` |
| ``gpu_seconds`` | train_seconds x GPUs held by the trial | ``trainables.train_loop`` |
| ``energy_kwh``, ``emissions_kg`` | kWh, kgCO2eq of training | ``emissions`` |
| ``peak_gpu_memory_mb`` | MB, peak allocated by torch on the GPU | ``trainables.train_loop`` |
"""
