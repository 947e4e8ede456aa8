#!/usr/bin/env bash
# A Hydra multirun: three strategies x three classifier seeds on the bundled digits, one GAN
# trained once and reused by every job, then a mean ± std table per strategy.
#   bash examples/sweep.sh                              # the full sweep
#   SEEDS=0,1 bash examples/sweep.sh experiment=quick   # extra overrides go to every job
set -euo pipefail
out=${SWEEP_DIR:-multirun/example-sweep}
python -m ganaug -m augment=none,classical,gan+classical seed="${SEEDS:-0,1,2}" hydra.sweep.dir="$out" "$@"
python -m ganaug.cli.summarize "$out"
