"""What a build writes for a target: export, verify, quantize and profile into one output folder
(artifacts), and the benchmark of one model across runtimes."""
