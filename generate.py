"""Write a synthetic dataset in the Kaggle train layout: ``python generate.py output_dir=<dir> num_records=<N>``."""

import hydra
from omegaconf import DictConfig

from ecgdl.tasks import generate


@hydra.main(version_base="1.3", config_path="conf", config_name="generate")
def main(cfg: DictConfig) -> None:
    generate.job(cfg)  # exits with status 1 when a record failed (the log lists why)


if __name__ == "__main__":
    main()
