"""Train (or, for training-free models, validate) a digitizer: ``python train.py model=cnn data.aug=photo``."""

import hydra
from omegaconf import DictConfig

from ecgdl.tasks import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    return train.job(cfg)  # the monitored metric, for Hydra sweepers (Optuna optimises it)


if __name__ == "__main__":
    main()
