"""Measurement, its own stage above export: timing runners and their statistics, per-layer profiles
mapped to spec paths, remote devices over SSH, runtime back ends (OpenVINO, ncnn) and latency models."""
