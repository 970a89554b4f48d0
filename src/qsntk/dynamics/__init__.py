"""Training dynamics: the analytic linearized solution and ensembles of finite networks."""
