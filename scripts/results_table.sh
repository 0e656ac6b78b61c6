#!/usr/bin/env bash
# Rebuild the README's results table: every model x degradation preset on the fixed synthetic test pages, the
# real ECG-Image-Kit renders (../shared/data/dev_eik_clean and dev_eik_distorted, skipped when absent) and all layouts/speeds/gains,
# then rank them with the leaderboard (outputs/results/results.md, leaderboard.md/html).
# Usage: bash scripts/results_table.sh [models, default classical,cnn] [pages per set, default 12]
# (bash scripts/results_table.sh classical & bash scripts/results_table.sh cnn: the same table in half the time on
# two cores; the second to finish writes the table with both)
set -euo pipefail
cd "$(dirname "$0")/.."
models="${1:-classical,cnn}"
pages="${2:-12}"
out=outputs/results
tag="${models//,/_}"  # one folder per model list: two lists can run side by side (one per core)
python evaluate.py -m "model=${models}" data=synth render=kaggle "data.test_size=${pages}" \
  data.aug=clean,scan,bw_scan,photo,screen,stained,damaged,mold,wrinkled,turned,lossy hydra.sweep.dir="${out}/synth_kaggle/${tag}"
python evaluate.py -m "model=${models}" data=synth render=varied data.aug=clean data.test_size=24 \
  hydra.sweep.dir="${out}/synth_varied/${tag}"
# the wild pages: other machines' page styles (render=wild: every layout incl. Cabrera, pulse style, grid style
# and colour, trace, font, header, paper and dpi) under every degradation preset; per_condition.csv in each run
# breaks them down by style and degradation
python evaluate.py -m "model=${models}" data=synth render=wild data.aug=wild data.test_size=48 set_name=wild \
  hydra.sweep.dir="${out}/wild/${tag}"
# ECG-Image-Kit-like pages of every layout / speed / gain / dpi / grid colour / pulse style under every preset
python evaluate.py -m "model=${models}" data=synth render=varied data.aug=wild data.test_size=48 \
  set_name=varied_wild hydra.sweep.dir="${out}/varied_wild/${tag}"
if [ -d ../shared/data/ptbxl500 ]; then  # real PTB-XL signals drawn with any pen width (ECG-Image-Kit's 2 px)
  python evaluate.py -m "model=${models}" data=synth signals=ptbxl render=kaggle render.stroke_supersample_share=1.0 \
    data.aug=clean "data.test_size=${pages}" set_name=ptbxl_thin hydra.sweep.dir="${out}/ptbxl_thin/${tag}"
fi
if [ -d ../shared/data/dev_eik_clean ]; then
  python evaluate.py -m "model=${models}" hydra.sweep.dir="${out}/dev_eik_clean/${tag}"
fi
if [ -d ../shared/data/dev_eik_distorted ]; then  # ECG-Image-Kit's own distortions (rotation, wrinkles, noise)
  python evaluate.py -m "model=${models}" data.root=../shared/data/dev_eik_distorted \
    hydra.sweep.dir="${out}/dev_eik_distorted/${tag}"
fi
python -m ecgdl.leaderboard "${out}" --out "${out}" --title "ecgdl results"
python scripts/readme_table.py "${out}" > "${out}/readme_table.md"  # the README table
