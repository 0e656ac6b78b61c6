"""Write a synthetic dataset in the Kaggle train layout: ``python generate.py output_dir=<dir> num_records=<N>``."""

import sys

import hydra
from omegaconf import DictConfig

from ecgdl.tasks import generate


@hydra.main(version_base="1.3", config_path="conf", config_name="generate")
def main(cfg: DictConfig) -> None:
    metrics = generate.run(cfg)
    if metrics["n_failed"]:
        sys.exit(1)  # the failures are listed in the log above


if __name__ == "__main__":
    main()
