"""Digitize ECG images: ``python predict.py model=classical input=<image|folder|Kaggle root> output_dir=<dir>``."""

import hydra
from omegaconf import DictConfig

from ecgdl.tasks import predict


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    predict.job(cfg)  # exits with status 1 when an image failed (report.csv lists why)


if __name__ == "__main__":
    main()
