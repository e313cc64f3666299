"""Account and snapshot models, the reference margin engines, commitments and risk inputs."""
