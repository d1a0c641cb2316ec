#!/usr/bin/env bash
# One job of scripts/zoo_gpu.sh: "KIND METHOD SEED", run under the shared DEADLINE (epoch seconds).
# Pretraining jobs pass --resume: a run the deadline cut continues from its last epoch when the
# script is called again on the same machine (a finished run is reused, a new one starts afresh).
set -u
kind=$1 method=$2 seed=$3
left=$(( DEADLINE - $(date +%s) ))
if [ "$left" -lt 45 ]; then echo "skip $kind $method $seed: ${left}s left"; exit 0; fi
t0=$(date +%s)
case $kind in
  pretrain) timeout "$left" python3 -m methods.pretrain --method "$method" --seed "$seed" --out ".cache/runs/zoo-$method-s$seed" --resume ;;
  explore)  timeout "$left" python3 -m methods.pretrain --method "$method" --seed "$seed" --epochs 16 --out ".cache/runs/zoo-explore-$method-s$seed" --resume ;;
  noshared) timeout "$left" python3 -m methods.pretrain --method "$method" --seed "$seed" --option shared_head=false \
              --out ".cache/runs/zoo-noshared-$method-s$seed" --resume ;;
  finetune) timeout "$left" python3 -m protocols.finetune --method "$method" --checkpoint random --seed "$seed" --eval-every 10 ;;
esac > "$LOGS/$kind-$method-s$seed.txt" 2>&1
echo "$kind $method $seed: exit $? after $(( $(date +%s) - t0 ))s"
