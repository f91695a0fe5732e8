#!/usr/bin/env bash
# loom train --task sft on stories260K with FOLDOC "define TERM:" data (seeded draw): SFT (all
# weights) lowers the held-out response loss; an interrupted run resumed with --resume logs
# exactly the rows of an uninterrupted one; bad JSONL lines (unknown role, chosen = rejected, a
# prompt longer than --seq, a template error) fail in one line naming FILE:LINE; --pack fills
# fewer rows, --sample-eval writes samples and a KL. LoRA SFT and DPO are train_finetune_slow.sh.
set -u
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib/finetune_setup.sh"

# SFT, all weights, held-out lines 5, 10, ...: the held-out response loss falls.
sft=("${base[@]}" --task sft --data "$tmp/sft.jsonl" --heldout-every 5 --steps 8 --lr 3e-3
     --eval-every 4 --save-every 4)
"$LOOM" train "${sft[@]}" --out "$tmp/a" --json > "$tmp/a.json" || fail "sft run exited non-zero"
grep -q '"train_examples": 32, "val_examples": 8' "$tmp/a.json" || fail "split: $(cat "$tmp/a.json")"
[ "$(wc -l < "$tmp/a/log.csv")" -eq 10 ] || fail "log.csv: header, step 0 and 8 rows expected"
for f in model.safetensors config.json tokenizer.model checkpoint.loom loss.png train_mode.txt; do
  [ -f "$tmp/a/$f" ] || fail "sft run folder lacks $f"
done
v0=$(col "$tmp/a/log.csv" 0 val_loss) v8=$(col "$tmp/a/log.csv" 8 val_loss)
less "$v8" "$v0" || fail "held-out SFT loss did not fall: $v0 -> $v8"

# Interrupted at step 5 and resumed: the same rows (step, loss, lr, grad norm).
"$LOOM" train "${sft[@]}" --out "$tmp/b" --stop-at 5 > /dev/null || fail "sft stop-at run"
"$LOOM" train "${sft[@]}" --out "$tmp/b" --resume > /dev/null || fail "sft resume"
diff <(cut -d, -f1-4 "$tmp/a/log.csv") <(cut -d, -f1-4 "$tmp/b/log.csv") > /dev/null ||
  fail "resumed SFT rows differ: $(diff <(cut -d, -f1-4 "$tmp/a/log.csv") <(cut -d, -f1-4 "$tmp/b/log.csv") | head -4)"

# Packed SFT (--seq 256: several examples a row) with 2 sampled completions of each held-out
# prompt before and after, and their KL to the init model.
"$LOOM" train "${sft[@]}" --seq 256 --steps 2 --pack --sample-eval 2 --sample-tokens 8 \
  --out "$tmp/p" --json > "$tmp/p.json" || fail "packed sft run"
rows=$(sed -n 's/.*"sequences": \([0-9]*\).*/\1/p' "$tmp/p.json")
[ -n "$rows" ] && [ "$rows" -lt 16 ] || fail "packing: '$rows' rows for 32 examples"
[ "$(wc -l < "$tmp/p/samples_before.jsonl")" -eq 16 ] && [ "$(wc -l < "$tmp/p/samples.jsonl")" -eq 16 ] ||
  fail "samples: 8 held-out prompts x 2 expected before and after"
grep -q '"kl_ref": [-0-9]' "$tmp/p.json" || fail "no KL: $(cat "$tmp/p.json")"

# Bad input: one line naming FILE:LINE.
echo '{"chat_template": "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% if m.role == \"system\" %}{{ raise_exception(\"no system turn\") }}{% endif %}{% endfor %}"}' > "$tmp/tc.json"
head -2 "$tmp/sft.jsonl" > "$tmp/role.jsonl"
echo '{"messages": [{"role": "wizard", "content": "hi"}, {"role": "assistant", "content": "yo"}]}' >> "$tmp/role.jsonl"
head -3 "$tmp/pairs.jsonl" > "$tmp/same.jsonl"
echo '{"prompt": "define x:", "chosen": " same", "rejected": " same"}' >> "$tmp/same.jsonl"
head -1 "$tmp/sft.jsonl" > "$tmp/long.jsonl"
echo "{\"prompt\": \"define $(printf 'very %.0s' $(seq 80)):\", \"completion\": \" x\"}" >> "$tmp/long.jsonl"
cp "$tmp/role.jsonl" "$tmp/tmpl.jsonl"
sed -i 's/"wizard"/"user"/' "$tmp/tmpl.jsonl"
echo '{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}' >> "$tmp/tmpl.jsonl"
for c in "sft role 3 unknown role" "dpo same 4 equals" "sft long 2 the prompt is" "sft tmpl 4 no system turn"; do
  read -r task f line what <<<"$c"
  err=$("$LOOM" train "${base[@]}" --task "$task" --data "$tmp/$f.jsonl" --chat-template "$tmp/tc.json" \
        --steps 1 --out "$tmp/bad" 2>&1 >/dev/null) && fail "$f.jsonl was accepted"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "multi-line error: $err"
  grep -q "$f.jsonl:$line: .*$what" <<<"$err" || fail "error does not name $f.jsonl:$line ($what): $err"
done
err=$("$LOOM" train "${base[@]}" --task sft --data "$tmp/sft.jsonl" --beta 0.2 --out "$tmp/bad" 2>&1 >/dev/null) &&
  fail "--beta accepted with sft"
"$LOOM" train "${base[@]}" --task dpo --data "$tmp/pairs.jsonl" --pack --out "$tmp/bad" 2> /dev/null &&
  fail "--pack accepted with dpo"
echo "cli train_finetune: ok"
