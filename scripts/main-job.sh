#!/usr/bin/env bash
# `make run`: the main job on the default data. Until the domain-adaptation pipeline lands this
# runs the most complete pipeline that exists.
set -euo pipefail
loom=${1:-build/bin/loom}
data=${LOOM_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
echo "== loom system"
"$loom" system
