"""SLOs as code: spec formats, the normalised model, rule generation, error budgets."""
