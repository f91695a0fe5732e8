#!/usr/bin/env python3
"""Golden for tests/adapt/grow_mine_test.cpp (`Grow.MeanCov*`): Hugging Face's mean resizing.

transformers' resize_token_embeddings(mean_resizing=True) (PreTrainedModel.
_init_added_embeddings_weights_with_mean, after Hewitt 2021, "Initializing new word embeddings
for pretrained language models") does, in float32 on the old matrix E (n, d):
    mean = E.mean(0);  C = (E - mean)ᵀ (E - mean) / n
    if torch.distributions.constraints.positive_definite.check(1e-9 * C):
        new rows ~ MultivariateNormal(mean, covariance_matrix=1e-9 * C)
    else:
        new rows = mean
This script is that rule, written here (no transformers on Debian), applied to two matrices:
"full_rank" (300 x 6, correlated columns: positive definite) and "singular" (40 x 6 whose third
column is constant: C has a zero row, so the check fails and the rows get the mean). For each it
writes the matrix, the mean, 1e-9 * C, the check's verdict, and the mean and covariance of 20000
rows drawn by torch's MultivariateNormal (a statistical reference for Loom's own draws).

  /usr/bin/python3 tests/reference/adapt/mean_resizing_golden.py
Writes tests/reference/adapt/mean_resizing.json.
"""
import os
import sys

import torch
from torch.distributions import constraints

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import write_json  # noqa: E402

EPSILON = 1e-9
DRAWS = 20000


def matrices():
    g = torch.Generator().manual_seed(11)
    a = torch.randn(300, 6, generator=g)
    mix = torch.tensor([[1.0, 0.8, 0.0, 0.0, 0.0, 0.3],
                        [0.0, 0.6, 0.0, 0.0, 0.0, 0.0],
                        [0.0, 0.0, 0.5, 0.2, 0.0, 0.0],
                        [0.0, 0.0, 0.0, 1.5, 0.0, 0.0],
                        [0.0, 0.0, 0.0, 0.0, 0.1, 0.0],
                        [0.0, 0.0, 0.0, 0.0, 0.0, 0.7]])
    full = a @ mix + torch.tensor([0.5, -1.0, 0.25, 0.0, 2.0, -0.5])
    singular = torch.randn(40, 6, generator=g)
    singular[:, 2] = 0.375  # a constant column: zero variance
    return {"full_rank": full, "singular": singular}


def mean_resizing(e):
    mean = torch.mean(e, dim=0)
    centred = e - mean
    cov = centred.T @ centred / e.shape[0]
    pd = bool(constraints.positive_definite.check(EPSILON * cov).all())
    case = {"rows": e.tolist(), "mean": mean.tolist(), "scaled_cov": (EPSILON * cov).tolist(),
            "positive_definite": pd}
    if pd:
        torch.manual_seed(5)
        mvn = torch.distributions.multivariate_normal.MultivariateNormal(
            mean.double(), covariance_matrix=EPSILON * cov.double())
        draws = mvn.sample((DRAWS,))
        case["draws"] = DRAWS
        case["draw_mean"] = draws.mean(0).tolist()
        case["draw_cov"] = torch.cov(draws.T, correction=0).tolist()
    return case


def main():
    out = {name: mean_resizing(e) for name, e in matrices().items()}
    out["epsilon"] = EPSILON
    write_json(os.path.join(HERE, "mean_resizing.json"), out)


if __name__ == "__main__":
    main()
