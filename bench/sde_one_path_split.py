"""Where one 1000-step solve_sde path spends its time: the kernel call vs the Python around it
(docs/benchmarks.md, SDE section): python bench/sde_one_path_split.py"""
import time, numpy as np
from fastode import solve_sde
import fastode.sde.api as api, fastode.sde.driver as drv
def drift(t, y): return np.array([-y[0]])
def diff(t, y): return np.array([0.5])
kw=dict(method="EM", dt=1e-3, seed=0, noise="additive")
solve_sde(drift, diff, (0, 1), [1.0], **kw)
orig = drv.solve_one; acc=[0.0]; saved={}
def timed(*a):
    t=time.perf_counter(); r=orig(*a); acc[0]+=time.perf_counter()-t; saved['a']=a; return r
name = [k for k,v in vars(api).items() if v is orig]
print("api names bound to solve_one:", name)
for k in name: setattr(api, k, timed)
drv.solve_one = timed
N=3000
t=time.perf_counter()
for _ in range(N): solve_sde(drift, diff, (0, 1), [1.0], **kw)
tot=(time.perf_counter()-t)/N
print(f"solve_sde {tot*1e6:.1f} us/call; inside solve_one (dispatch+kernel) {acc[0]/N*1e6:.1f} us; Python around it {(tot-acc[0]/N)*1e6:.1f} us")
a=saved['a']; print("solve_one args:", len(a))
t=time.perf_counter()
for _ in range(N): orig(*a)
print(f"solve_one alone {(time.perf_counter()-t)/N*1e6:.1f} us")
