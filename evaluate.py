"""Score a digitizer or a folder of predictions: ``python evaluate.py model=classical data=kaggle data.root=...``."""

import hydra
from omegaconf import DictConfig

from ecgdl.tasks import evaluate


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> float:
    return evaluate.job(cfg)


if __name__ == "__main__":
    main()
