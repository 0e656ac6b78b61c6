"""Digitize ECG images: ``python predict.py model=classical input=<image|folder|Kaggle root> output_dir=<dir>``."""

import sys

import hydra
from omegaconf import DictConfig

from ecgdl.tasks import predict


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    status = predict.exit_status(predict.run(cfg))
    if status:
        sys.exit(status)  # report.csv and the log above list every failure


if __name__ == "__main__":
    main()
