"""FAISS's side of bench/peers/ann (Debian python3-faiss): IndexHNSWFlat (M=16, efConstruction=200)
and IndexIVFFlat (nlist=1024), built on THREADS threads, searched on one thread.
Same CSV as loom_ann: system,setting,build_wall_s,build_cpu_s,recall_at_10,qps_1thread,bytes_per_vector
(queries/s from process CPU time with one OpenMP thread, best of 3; FAISS searches the query batch
in one call, as it is meant to be used)."""
import sys
import time

import faiss
import numpy as np


def recall(got, gt):
    hit = 0
    for g, t in zip(got, gt):
        hit += len(set(g.tolist()) & set(t.tolist()))
    return hit / (10.0 * len(gt))


def sweep(name, index, set_param, values, q, gt, build_wall, build_cpu, bpv):
    faiss.omp_set_num_threads(1)
    for v in values:
        set_param(v)
        best = 1e30
        for _ in range(3):
            c0 = time.process_time()
            _, ids = index.search(q, 10)
            best = min(best, time.process_time() - c0)
        print(f"{name},{v},{build_wall:.3f},{build_cpu:.3f},{recall(ids, gt):.4f},{len(q) / best:.1f},{bpv:.1f}",
              flush=True)


def main():
    d, threads = sys.argv[1], int(sys.argv[2])
    xb = np.load(f"{d}/base.npy")
    xq = np.load(f"{d}/queries.npy")
    gt = np.load(f"{d}/gt.npy").astype(np.int64).reshape(len(xq), 10)
    n, dim = xb.shape

    faiss.omp_set_num_threads(threads)
    w0, c0 = time.time(), time.process_time()
    hnsw = faiss.IndexHNSWFlat(dim, 16)
    hnsw.hnsw.efConstruction = 200
    hnsw.add(xb)
    wall, cpu = time.time() - w0, time.process_time() - c0
    bpv = faiss.serialize_index(hnsw).nbytes / n
    def set_ef(v):
        hnsw.hnsw.efSearch = v
    sweep("faiss-hnsw", hnsw, set_ef, [10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256, 320],
          xq, gt, wall, cpu, bpv)
    del hnsw

    faiss.omp_set_num_threads(threads)
    w0, c0 = time.time(), time.process_time()
    quantizer = faiss.IndexFlatL2(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, 1024)
    rng = np.random.default_rng(0)
    ivf.train(xb[rng.choice(n, size=min(n, 100_000), replace=False)])
    ivf.add(xb)
    wall, cpu = time.time() - w0, time.process_time() - c0
    bpv = faiss.serialize_index(ivf).nbytes / n
    def set_nprobe(v):
        ivf.nprobe = v
    sweep("faiss-ivf1024", ivf, set_nprobe, [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128],
          xq, gt, wall, cpu, bpv)


if __name__ == "__main__":
    main()
