"""Train (or, for training-free models, validate) a digitizer: ``python train.py model=cnn data.aug=photo``."""

import hydra
from omegaconf import DictConfig

from ecgdl.tasks import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics, _ = train.run(cfg)
    # returned for Hydra sweepers (Optuna optimises this value)
    return metrics.get(cfg.monitor)


if __name__ == "__main__":
    main()
