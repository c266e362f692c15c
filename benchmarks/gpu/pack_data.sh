#!/usr/bin/env bash
# Pack what the device session needs from the data folder into .devdata/data.tar.xz (git-ignored via
# .git/info/exclude; ~30 MB): the Wikipedia corpus and the GLUE tasks `micro` scores. The device machine gets
# only the working tree (64 MiB), so the data travels compressed and run.sh unpacks it there.
#   FLEXIBENCH_DATA=../shared/data bash benchmarks/gpu/pack_data.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data="${FLEXIBENCH_DATA:-../shared/data}"
grep -qx '/.devdata/' .git/info/exclude 2>/dev/null || echo '/.devdata/' >> "$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p .devdata
tar -C "$data" -cf - SOURCES.md corpus glue/CoLA glue/SST-2 glue/MRPC glue/STS-B glue/QQP glue/RTE \
  | xz -T2 -6 > .devdata/data.tar.xz.tmp
mv .devdata/data.tar.xz.tmp .devdata/data.tar.xz
du -h .devdata/data.tar.xz
