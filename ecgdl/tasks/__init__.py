"""Task entry points: ``run(cfg) -> metrics``. The only code that instantiates Hydra configs."""

from ecgdl.tasks.resolvers import register_resolvers

register_resolvers()
