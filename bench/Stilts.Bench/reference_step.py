# PyTorch reference for the bench's training-step comparison (written to a temp file and run by Stilts.Bench).
# The same BERT-shaped sequence classifier as Stilts' BertModel + BertSequenceClassificationHead: post-LN layers,
# exact GELU, dropout 0.1, pooler, classifier; cross-entropy; clip_grad_norm_(1.0); torch.optim.AdamW.
# Prints one line per measured step: "step_seconds <s>".
import math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

layers, hidden, heads, ff, vocab, seq, batch, warmup, steps, threads = map(int, sys.argv[1:11])
torch.set_num_threads(threads)
torch.manual_seed(11)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.o, self.ln1 = nn.Linear(hidden, hidden), nn.LayerNorm(hidden, eps=1e-12)
        self.i, self.out, self.ln2 = nn.Linear(hidden, ff), nn.Linear(ff, hidden), nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, mask):
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, heads, -1).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hidden // heads) + mask
        y = (self.drop(scores.softmax(-1)) @ v).transpose(1, 2).reshape(b, t, hidden)
        x = self.ln1(x + self.drop(self.o(y)))
        return self.ln2(x + self.drop(self.out(F.gelu(self.i(x)))))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.word, self.pos, self.types = nn.Embedding(vocab, hidden), nn.Embedding(512, hidden), nn.Embedding(2, hidden)
        self.ln, self.drop = nn.LayerNorm(hidden, eps=1e-12), nn.Dropout(0.1)
        self.layers = nn.ModuleList([Layer() for _ in range(layers)])
        self.pooler, self.classifier = nn.Linear(hidden, hidden), nn.Linear(hidden, 2)

    def forward(self, ids, attention):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.drop(self.ln(self.word(ids) + self.types(torch.zeros_like(ids)) + self.pos(positions)))
        mask = (1.0 - attention[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask)
        return self.classifier(self.drop(torch.tanh(self.pooler(x[:, 0]))))


model = Model().train()
no_decay = [p for n, p in model.named_parameters() if "ln" in n or n.endswith("bias")]
decay = [p for n, p in model.named_parameters() if not ("ln" in n or n.endswith("bias"))]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=2e-5)
ids = torch.randint(4, vocab, (batch, seq))
attention = torch.ones(batch, seq, dtype=torch.long)
labels = torch.randint(0, 2, (batch,))
for s in range(warmup + steps):
    start = time.perf_counter()
    loss = F.cross_entropy(model(ids, attention), labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    loss.item()
    if s >= warmup:
        print(f"step_seconds {time.perf_counter() - start:.6f}", flush=True)
