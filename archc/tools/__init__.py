"""Tools over compiled specs: sweeps, Pareto fronts, graph drawing, explain and diff."""
