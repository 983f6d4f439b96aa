"""``sgan``: the semi-supervised GAN of Salimans et al. 2016 ("Improved techniques for training GANs",
NeurIPS 2016, §5) — a (K+1)-class discriminator that is also the classifier, and feature matching.

The discriminator D outputs K logits l_1..l_K(x) for the K real classes; the logit of the extra class
"fake" is fixed at 0 (a softmax over K+1 logits is unchanged by subtracting one logit from all, so this
loses nothing).  With Z(x) = Σ_k exp l_k(x), the probability that x is real is D(x) = Z / (Z + 1) and the
class posterior among the real classes is softmax(l)(x).  Discriminator loss per step::

    L_D = CE(softmax l(x_lab), y_lab)                                       (supervised, labelled batch)
        + w · ½ [ −E_x log D(x) − E_z log(1 − D(G(z))) ]                    (unsupervised, every row)
    with log D = lse(l) − softplus(lse(l)),  log(1 − D) = −softplus(lse(l))

(w = ``unsup_weight``).  The generator minimises feature matching, ‖E_x f(x) − E_z f(G(z))‖² / h, with f
the discriminator's last hidden layer (h units) on the unlabelled real batch (Salimans et al. eq. 4).
The discriminator adds Gaussian noise to its input and hidden layers during training (σ = ``noise_in``,
``noise_hidden``; 0.3 and 0.5 in the paper's MNIST model), which is most of its regularisation.

Labels: the run's data must carry ``/labels`` (``data.condition=labels``, the family default; rows with
a negative label count as unlabelled).  At the start of a fresh fit ``labels_per_class`` rows of each class
are drawn (seeded by ``label_seed``, the same draw on every rank) from the training rows; their inputs,
labels and row numbers are kept in checkpointed buffers, so a resumed fit uses the same labelled subset,
and are written to ``RUN_DIR/labelled.json``.  Every training row, labelled or not, enters the unsupervised
term: the labels of the other rows are never read.  The generator is unconditional; sampling with
``--condition labels=k`` keeps the generated samples that the classifier assigns to class k.

:func:`physgen.models.gan.sgan_classifiers.compare_classifiers` scores the classifier on test data beside a
supervised baseline (the same network trained on the same labelled subset with the supervised term alone, for
as many steps) and a random forest fitted to the same labelled subset.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.contract import Hook
from physgen.models.gan.base import GAN, _apply
from physgen.models.gan.card import SGANCard
from physgen.models.gan.config import SGANConfig
from physgen.models.nets import Conditioner, flat_dim
from physgen.models.registry import register

LABELLED_FILE = "labelled.json"


class NoisyClassifier(nn.Module):
    """``x (B, *shape) -> (logits (B, K), features (B, hidden[-1]))``: LeakyReLU MLP with Gaussian noise
    (σ_in on the input, σ_h after every hidden layer) while training and given a generator; the features
    are the last hidden layer before its noise."""

    def __init__(self, d: int, hidden: tuple[int, ...], n_classes: int, slope: float, noise_in: float,
                 noise_hidden: float):
        super().__init__()
        sizes = [d, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = nn.Linear(sizes[-1], n_classes)
        self.slope, self.noise_in, self.noise_hidden = slope, noise_in, noise_hidden

    def _noisy(self, h: torch.Tensor, sigma: float, generator: torch.Generator | None) -> torch.Tensor:
        if not (self.training and sigma > 0 and generator is not None):
            return h
        return h + sigma * torch.randn(h.shape, generator=generator, device=h.device, dtype=h.dtype)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self._noisy(x.flatten(1), self.noise_in, generator)
        feats = h
        for layer in self.layers:
            feats = F.leaky_relu(layer(h), self.slope)
            h = self._noisy(feats, self.noise_hidden, generator)
        return self.head(h), feats


def generator_net(sizes: list[int], batchnorm: bool) -> nn.Sequential:
    """``Linear → [BatchNorm] → ReLU`` blocks then ``Linear`` (tanh applied by the model)."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b)] if batchnorm else [nn.Linear(a, b)]
        layers.append(nn.ReLU())
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class _Reshape(nn.Module):
    def __init__(self, body: nn.Module, shape: tuple[int, ...]):
        super().__init__()
        self.body, self.shape = body, tuple(shape)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(z).reshape(len(z), *self.shape)


def unsupervised_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """½[−E log D(x) − E log(1 − D(G(z)))] with D = Z/(Z+1), Z = Σ_k exp l_k (fake logit fixed at 0)."""
    lse_r, lse_f = torch.logsumexp(real_logits, 1), torch.logsumexp(fake_logits, 1)
    return 0.5 * (F.softplus(lse_r) - lse_r).mean() + 0.5 * F.softplus(lse_f).mean()


@register
class SGAN(SGANCard, GAN):
    """Semi-supervised GAN (Salimans et al. 2016): a K-logit classifier that is also the discriminator.  Its
    card (name, defaults, ``classifier``): :class:`physgen.models.gan.card.SGANCard`."""

    def build(self, config: SGANConfig, spec: DataSpec) -> None:
        if spec.n_labels is not None and spec.n_labels < 2:
            raise UserError(f"sgan needs at least two classes in /labels (found {spec.n_labels})", key="data")
        # the generator is unconditional: the labels are the classifier's targets, not a condition
        self.cond = Conditioner(replace(spec, n_labels=None, condition_names=(), condition_values={}))
        # without labels (a spec from `physgen models`) the classifier is sized for two classes; training
        # such a model is refused by check_batch
        d, k = flat_dim(spec), spec.n_labels or 2
        self.gen = _Reshape(generator_net([config.latent, *config.hidden_g, d], config.g_batchnorm), spec.shape)
        self.disc = NoisyClassifier(d, config.hidden_d, k, config.slope, config.noise_in, config.noise_hidden)
        n = k * config.labels_per_class
        self.register_buffer("lab_x", torch.zeros(n, *spec.shape))          # labelled inputs, model space
        self.register_buffer("lab_y", torch.zeros(n, dtype=torch.long))     # their classes
        self.register_buffer("lab_rows", torch.zeros(n, dtype=torch.long))  # their training-set row numbers

    @property
    def n_classes(self) -> int:
        """K, the number of real classes (the classifier's outputs)."""
        return int(self.disc.head.out_features)

    def compare_classifiers(self, x_test: torch.Tensor, y_test: np.ndarray, **options: Any) -> dict[str, Any]:
        """:func:`~physgen.models.gan.sgan_classifiers.compare_classifiers` of this model (what ``physgen evaluate
        RUN --data TEST`` scores)."""
        from physgen.models.gan.sgan_classifiers import compare_classifiers

        return compare_classifiers(self, x_test, y_test, **options)

    def networks(self):
        """The generator and the classifier/discriminator, each with its forward call."""
        z = self.noise(2, None)
        x = self.dummy_inputs()[0]
        return {"generator": ([self.gen], lambda: self.generate(z)),
                "discriminator": ([self.disc], lambda: self.disc(self.to_internal(x)))}

    # --- the labelled subset ------------------------------------------------------------------
    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        """Every class must have at least ``labels_per_class`` labelled training rows (checked on the whole
        training set before anything is written)."""
        super().check_batch(batch)
        labels = batch.get("labels")
        if labels is None or not self.spec.n_labels:
            raise UserError("data.condition: sgan needs labelled data: a /labels dataset and data.condition=labels "
                            f"(got {', '.join(self.spec.condition_names) or 'no condition'})")
        counts = torch.bincount(labels[labels >= 0].cpu(), minlength=self.n_classes)
        smallest = int(counts.argmin())
        if int(counts[smallest]) < self.config.labels_per_class:
            raise UserError(f"model.labels_per_class: {self.config.labels_per_class} is larger than the smallest "
                            f"class (class {smallest} has {int(counts[smallest])} labelled training rows)")

    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """Fresh fits draw ``labels_per_class`` rows of each class (negative labels: unlabelled rows), uniformly
        without replacement with a CPU generator seeded by ``label_seed`` (so every rank of a distributed run
        draws the same rows), and keep them in the checkpointed buffers; resumed fits keep the checkpoint's."""
        super().on_fit_start(data, resumed=resumed, generator=generator)
        if resumed:
            return
        self.check_batch(data)
        labels, m = data["labels"].cpu(), self.config.labels_per_class
        draw = torch.Generator().manual_seed(int(self.config.label_seed))
        rows = []
        for k in range(self.n_classes):
            idx = torch.nonzero(labels == k).flatten()
            rows.append(idx[torch.randperm(len(idx), generator=draw)[:m]].sort().values)
        rows = torch.cat(rows).to(data["labels"].device)
        self.lab_rows.copy_(rows)
        self.lab_y.copy_(data["labels"][rows])
        self.lab_x.copy_(data["x"][rows].to(self.lab_x.dtype))

    def labelled_record(self) -> dict[str, Any]:
        """What ``RUN_DIR/labelled.json`` records: the labelled training rows per class."""
        rows, y = self.lab_rows.cpu().tolist(), self.lab_y.cpu().tolist()
        return {"labels_per_class": self.config.labels_per_class, "n_classes": self.n_classes,
                "n_labelled": len(rows), "label_seed": self.config.label_seed,
                "selection": "uniform without replacement per class, seeded by label_seed",
                "rows": "row numbers in the run's training set (after the data.val_fraction split)",
                "labelled_rows": {str(k): [r for r, c in zip(rows, y) if c == k] for k in range(self.n_classes)}}

    def run_hooks(self, x: torch.Tensor) -> list[tuple[str, Hook]]:
        """The GAN diagnostics, and ``RUN_DIR/labelled.json`` reported when training starts."""
        return [*super().run_hooks(x),
                ("on_train_start", lambda ctx: ctx.report(LABELLED_FILE, self.labelled_record()))]

    # --- training -----------------------------------------------------------------------------
    def classify(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(B, K)`` class logits of model-space ``x`` (noise only in train mode with a generator)."""
        return self.disc(self.to_internal(x.float()), generator)[0]

    def adversarial_step(self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer],
                         *, generator: torch.Generator) -> dict[str, float]:
        """One discriminator update (supervised CE on a labelled batch of the same size drawn with
        replacement from the labelled subset + w × the unsupervised term on the whole batch) and one
        generator update (feature matching).  The batch's own labels are not used."""
        x = self.to_internal(batch["x"].float())
        n = len(x)
        pick = torch.randint(len(self.lab_y), (n,), generator=generator, device=generator.device).to(x.device)
        xl, yl = self.to_internal(self.lab_x.index_select(0, pick)), self.lab_y.index_select(0, pick)
        with torch.no_grad():
            fake = self.generate(self.noise(n, generator))
        lab_logits = self.disc(xl, generator)[0]
        real_logits, fake_logits = self.disc(x, generator)[0], self.disc(fake, generator)[0]
        sup = F.cross_entropy(lab_logits, yl)
        unsup = unsupervised_loss(real_logits, fake_logits)
        d_loss = _apply(sup + self.config.unsup_weight * unsup, optimizers["discriminator"])
        with torch.no_grad():
            f_real = self.disc(x, generator)[1].mean(0)
            d_real = torch.sigmoid(torch.logsumexp(real_logits, 1)).mean()
            d_fake = torch.sigmoid(torch.logsumexp(fake_logits, 1)).mean()
            acc = (lab_logits.argmax(1) == yl).float().mean()
        fake = self.generate(self.noise(n, generator))
        f_fake = self.disc(fake, generator)[1].mean(0)
        g_loss = _apply(((f_real - f_fake) ** 2).mean(), optimizers["generator"])
        self.last_g.copy_(torch.tensor([g_loss, float(d_fake)]))
        self.calls += 1
        return {"d_loss": d_loss, "g_loss": g_loss, "sup_loss": float(sup.detach()),
                "unsup_loss": float(unsup.detach()),
                "d_real": float(d_real), "d_fake": float(d_fake), "train_accuracy": float(acc)}

    def validate(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator) -> dict[str, float]:
        """Classification accuracy on the held-out rows that carry a label (logged as ``val_accuracy``)."""
        labels = batch.get("labels")
        if labels is None or not bool((labels >= 0).any()):
            return {}
        keep = labels >= 0
        with torch.no_grad():
            pred = self.classify(batch["x"][keep]).argmax(1)
        return {"accuracy": float((pred == labels[keep]).float().mean())}

    # --- generation -----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               z: torch.Tensor | None = None, max_rounds: int = 100) -> torch.Tensor:
        """``(n, *shape)`` samples G(z).  With ``condition={"labels": k}``: generated samples that the
        classifier assigns to class k (rejection; after ``max_rounds`` batches of ``n`` the most probable
        of the rest fill up)."""
        k = None if not condition else condition.get("labels")
        if k is None:
            z = self.noise(n, generator) if z is None else z.to(self.device)
            return self.to_data(self.generate(z))
        kept, spare, spare_p = [], [], []
        have = 0
        for _ in range(max_rounds):
            y = self.generate(self.noise(n, generator))
            probs = torch.softmax(self.disc(y)[0], 1)
            p, hit = probs[:, int(k)], probs.argmax(1) == int(k)
            kept.append(y[hit])
            spare.append(y[~hit])
            spare_p.append(p[~hit])
            have += int(hit.sum())
            if have >= n:
                break
        out = torch.cat(kept)
        if len(out) < n:
            rest, p = torch.cat(spare), torch.cat(spare_p)
            out = torch.cat([out, rest[p.argsort(descending=True)[: n - len(out)]]])
        return self.to_data(out[:n])

    @torch.no_grad()
    def preview(self, *, generator: torch.Generator) -> np.ndarray | None:
        """A 4x4 grid of unconditional samples when one sample is 2-D, else None."""
        if len(self.spec.shape) != 2:
            return None
        x = self.sample(16, generator=generator).float().cpu().numpy()
        lo, hi = float(x.min()), float(x.max())
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
        h, w = self.spec.shape
        grid = np.ones((4 * (h + 1) - 1, 4 * (w + 1) - 1), dtype=np.float32)
        for i, img in enumerate(x):
            r, c = divmod(i, 4)
            grid[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = img
        return grid
