"""Spread of the finite-time largest Lorenz exponent over starts and dt (docs/benchmarks.md,
fastode.analysis section): python bench/lyapunov_spread.py"""
import numpy as np
from fastode.analysis import lyapunov_exponents
def lorenz(t, y, s, r, b):
    return np.array([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])
A=(10.0,28.0,8/3)
rng=np.random.default_rng(0)
starts=[np.array([1.0,1.0,1.0])]+[np.array([1.0,1.0,1.0])+rng.uniform(-1,1,3) for _ in range(15)]
for dt in (0.01, 0.005, 0.02):
    for T in (1000.0, 10000.0) if dt==0.01 else (1000.0,):
        l1=[lyapunov_exponents(lorenz,s,(0,100+T),args=A,transient=100,dt=dt,k=1).exponents[0] for s in starts]
        l1=np.array(l1)
        print(f"dt={dt} T={T:g} transient=100: standard start {l1[0]:.4f}; 16 starts min {l1.min():.4f} max {l1.max():.4f} mean {l1.mean():.4f} std {l1.std(ddof=1):.4f}; within 0.002 of 0.9056: {np.sum(abs(l1-0.9056)<0.002)}/16", flush=True)
