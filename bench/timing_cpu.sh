#!/usr/bin/env bash
# What each normalization costs on this CPU, against the memory-bandwidth ceiling (a plain copy).
# The README quotes this output. Usage: bench/timing_cpu.sh [--with-compiled]
#   --with-compiled  also times torch.compile of the manual LayerNorm at 2**20 elements
#                    (compile time reported apart; the first compile here takes 5-30 s)
# Timings move with other work on the machine: run it on an otherwise idle box.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s.%N)
python -m lnorm_core.timing --quick --devices cpu
end=$(date +%s.%N)
echo
echo "# --quick wall time: $(python -c "print(f'{$end - $start:.1f}')") s (python start-up and imports included)"

if [[ "${1:-}" == "--with-compiled" ]]; then
  echo
  echo "# LayerNorm at 2**20 elements: native vs manual vs numpy vs torch.compile(manual)"
  python -m lnorm_core.timing --kinds layer --impls native,manual,numpy,compiled --devices cpu \
    --sizes 1048576 --min-run-time 0.2
fi
