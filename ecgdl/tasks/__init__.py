"""Task entry points: ``run(cfg) -> metrics``. The only code that instantiates Hydra configs."""
