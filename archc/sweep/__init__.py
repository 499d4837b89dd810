"""The sweep engine: configurations of passes, their checked cache, executors (local pool, Ray),
Pareto fronts, training sweeps and the latency-model fit over probe configurations."""
