#!/usr/bin/env bash
# Rebuild the embedded zoo on one GPU machine in one call (issue 12 item 3: "a GPU, where one is
# available, may run them instead"): the four methods x pretraining seeds 0-2 under the one quick
# recipe, the supervised ST-GCN (finetune from random init, the official 110 epochs), and two
# diagnostic runs, as parallel jobs on the one GPU until a deadline. Evaluation (linear, KNN) and
# publishing happen afterwards on the CPU machine, like every other record of the zoo.
#
#   OUT=/tmp/out DEADLINE_S=470 bash scripts/zoo_gpu.sh      # files for the CPU machine under $OUT
#
# Runs land in .cache/runs/zoo-<method>-s<seed>; what comes back is their encoders, run.json and
# logs, packed by seed (each archive under 16 MiB).
set -u
OUT=${OUT:?set OUT to the folder that receives the packed runs}
DEADLINE=$(( $(date +%s) + ${DEADLINE_S:-470} ))
LOGS=.cache/zoo-gpu-logs
export DEADLINE LOGS OMP_NUM_THREADS=2 PYTHONUNBUFFERED=1
mkdir -p "$OUT" .cache/runs "$LOGS"
if ls .whl/*.whl >/dev/null 2>&1; then   # packages the GPU image lacks (faiss-cpu), carried as wheels
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; python3 -c "import torch, numpy, faiss;
print('torch', torch.__version__, 'numpy', numpy.__version__, 'faiss', faiss.__version__, 'cuda', torch.cuda.is_available())"; } \
  > "$LOGS"/machine.txt 2>&1
python3 -c "from datasets import benchmark_folder as b; b('synthetic-xsub', 50); b('synthetic-xsub', 64)" > "$LOGS"/data.txt 2>&1 \
  || { cp "$LOGS"/*.txt "$OUT"/; exit 1; }
# the GPU paths against the CPU (correctness only; the timed benchmarks run last if time is left)
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/benchmarks/bench_gpu.py -o python_files='bench_*.py' \
  -k "gives_the_cpu_loss or same_augmentation or gpu_run_resumes" > "$LOGS"/bench_gpu_checks.txt 2>&1
# jobs in priority order: the supervised row, then seed 0 of every method, then seeds 1 and 2, then diagnostics
{
  echo "finetune skeletonclr 0"
  for s in 0 1 2; do for m in skelemixclr crossclr aimclr skeletonclr; do echo "pretrain $m $s"; done; done
  echo "explore skeletonclr 0"
  echo "noshared crossclr 0"
} > "$LOGS"/jobs.txt
xargs -P "${JOBS:-6}" -L 1 bash scripts/zoo_gpu_job.sh < "$LOGS"/jobs.txt > "$LOGS"/jobs.log 2>&1
left=$(( DEADLINE - $(date +%s) ))
if [ "$left" -gt 60 ]; then
  timeout $(( left - 20 )) python3 -m pytest -q -p no:cacheprovider tests/benchmarks/bench_gpu.py -o python_files='bench_*.py' \
    --benchmark-enable --benchmark-max-time 0.5 -k "not gives_the_cpu_loss and not same_augmentation and not gpu_run_resumes" > "$LOGS"/bench_gpu_speed.txt 2>&1
fi
# pack: runs by seed (encoders, run.json, log), CrosSCLR's other streams, and the rest (new records,
# logs, diagnostics, the supervised run's record) in one
pack() {  # pack ARCHIVE PATH...: the paths that exist, if any
  local archive=$1 kept=() p; shift
  for p in "$@"; do [ -e "$p" ] && kept+=("$p"); done
  [ ${#kept[@]} -gt 0 ] && tar -cf "$OUT/$archive" "${kept[@]}"
}
for s in 0 1 2; do pack "runs-s$s.tar" .cache/runs/zoo-{skeletonclr,aimclr,crossclr,skelemixclr}-s$s/{encoder.pt,run.json,log.txt}; done
pack crossclr-s0-streams.tar .cache/runs/zoo-crossclr-s0/encoder-{motion,bone}.pt
pack rest.tar "$LOGS" $(find results/records -newer "$LOGS"/jobs.txt -type f) \
  .cache/runs/zoo-explore-skeletonclr-s0/{run.json,log.txt} .cache/runs/zoo-noshared-crossclr-s0/{encoder.pt,run.json,log.txt}
ls -la "$OUT"
