"""zkmargin.service: the service's installed name before 0.2, kept so `python -m zkmargin.service` still serves.

Only the `python -m` form survives; imports use zkmargin.verifier_service (docs/service-migration.md).
"""
