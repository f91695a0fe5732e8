#!/usr/bin/env bash
# loom train --task sft|dpo with LoRA on stories260K and FOLDOC "define TERM:" data (seeded
# draw): SFT lowers the loss on its own training split and writes a PEFT adapter; DPO computes
# the reference log-probs once, lowers the DPO loss and raises the preference accuracy on its
# training pairs, and a resumed DPO run reuses the cache (same bytes, same rewards as the
# uninterrupted run); a corrupted cache is refused naming the file; a reward model learns the
# training pairs, saves score.weight and resumes exactly.
set -u
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/finetune_setup.sh"

# SFT with LoRA, evaluated on its own training data: the training-split loss falls.
"$LOOM" train "${base[@]}" --task sft --data "$tmp/sft.jsonl" --eval "$tmp/sft.jsonl" --steps 8 \
  --lr 1e-2 --eval-every 8 --train lora --lora-rank 4 --out "$tmp/c" > /dev/null || fail "lora sft"
v0=$(col "$tmp/c/log.csv" 0 val_loss) v8=$(col "$tmp/c/log.csv" 8 val_loss)
less "$v8" "$v0" || fail "LoRA SFT training-split loss did not fall: $v0 -> $v8"
[ -f "$tmp/c/adapter/adapter_model.safetensors" ] || fail "no PEFT adapter"

# DPO with LoRA on 16 pairs, evaluated on them: the DPO loss falls below ln 2, the rewards are
# logged, the reference cache is written once.
dpo=("${base[@]}" --task dpo --data "$tmp/pairs.jsonl" --eval "$tmp/pairs.jsonl" --steps 8
     --lr 1e-2 --beta 0.5 --eval-every 4 --save-every 4 --train lora --lora-rank 4)
"$LOOM" train "${dpo[@]}" --out "$tmp/d" 2> "$tmp/d.err" > /dev/null || fail "dpo: $(cat "$tmp/d.err")"
grep -q "computed into" "$tmp/d.err" || fail "no reference computation note: $(cat "$tmp/d.err")"
head -1 "$tmp/d/log.csv" | grep -q "chosen_reward,rejected_reward,margin,accuracy,val_margin,val_accuracy" ||
  fail "DPO log header: $(head -1 "$tmp/d/log.csv")"
v0=$(col "$tmp/d/log.csv" 0 val_loss) v8=$(col "$tmp/d/log.csv" 8 val_loss)
[ "$v0" = "0.6931" ] || fail "DPO loss before training should be ln 2, got $v0"
less "$v8" "$v0" || fail "DPO loss on the training pairs did not fall: $v0 -> $v8"
a0=$(col "$tmp/d/log.csv" 0 val_accuracy) a8=$(col "$tmp/d/log.csv" 8 val_accuracy)
less "$a0" "$a8" || fail "DPO preference accuracy did not rise: $a0 -> $a8"

# Interrupted DPO resumed: the cache is reused (the resumed model is no longer the reference, so
# recomputing would change every reward), the rows equal the uninterrupted run's.
"$LOOM" train "${dpo[@]}" --out "$tmp/e" --stop-at 3 > /dev/null 2>&1 || fail "dpo stop-at run"
sum=$(sha256sum < "$tmp/e/ref_logprobs.loom")
"$LOOM" train "${dpo[@]}" --out "$tmp/e" --resume 2> "$tmp/e.err" > /dev/null || fail "dpo resume"
grep -q "reused from" "$tmp/e.err" || fail "resume did not reuse the cache: $(cat "$tmp/e.err")"
[ "$(sha256sum < "$tmp/e/ref_logprobs.loom")" = "$sum" ] || fail "resume rewrote the cache"
diff <(cut -d, -f1-4,7-10 "$tmp/d/log.csv") <(cut -d, -f1-4,7-10 "$tmp/e/log.csv") > /dev/null ||
  fail "resumed DPO rows differ: $(diff <(cut -d, -f1-4,7-10 "$tmp/d/log.csv") <(cut -d, -f1-4,7-10 "$tmp/e/log.csv") | head -4)"
printf 'X' | dd of="$tmp/e/ref_logprobs.loom" bs=1 seek=20 conv=notrunc 2>/dev/null
err=$("$LOOM" train "${dpo[@]}" --out "$tmp/e" --resume 2>&1 >/dev/null) && fail "used a corrupted cache"
grep -q "ref_logprobs.loom" <<<"$err" || fail "corrupted-cache error does not name the file: $err"

# Reward model (all weights + score.weight head) on the 16 pairs, evaluated on them: the
# Bradley-Terry loss falls, the preference accuracy rises, score.weight is saved with the run, and
# a resumed run logs the rows of an uninterrupted one.
rw=("${base[@]}" --task reward --data "$tmp/pairs.jsonl" --eval "$tmp/pairs.jsonl" --steps 8
    --lr 1e-2 --eval-every 4 --save-every 4)
"$LOOM" train "${rw[@]}" --out "$tmp/r" > /dev/null || fail "reward run"
head -1 "$tmp/r/log.csv" | grep -q "val_loss,margin,accuracy,val_margin,val_accuracy" ||
  fail "reward log header: $(head -1 "$tmp/r/log.csv")"
v0=$(col "$tmp/r/log.csv" 0 val_loss) v8=$(col "$tmp/r/log.csv" 8 val_loss)
less "$v8" "$v0" || fail "reward loss on the training pairs did not fall: $v0 -> $v8"
a0=$(col "$tmp/r/log.csv" 0 val_accuracy) a8=$(col "$tmp/r/log.csv" 8 val_accuracy)
less "$a0" "$a8" || fail "reward accuracy did not rise: $a0 -> $a8"
grep -aq '"score.weight"' "$tmp/r/model.safetensors" || fail "no score.weight in model.safetensors"
"$LOOM" train "${rw[@]}" --out "$tmp/s" --stop-at 3 > /dev/null || fail "reward stop-at run"
"$LOOM" train "${rw[@]}" --out "$tmp/s" --resume > /dev/null || fail "reward resume"
diff <(cut -d, -f1-4,7-8 "$tmp/r/log.csv") <(cut -d, -f1-4,7-8 "$tmp/s/log.csv") > /dev/null ||
  fail "resumed reward rows differ"
echo "cli train_finetune_slow: ok"
