"""Coefficients of the stochastic Runge-Kutta methods, as data (no imports from the package).

SRI (Rößler 2010, strong order 1.5 for diagonal/scalar noise), in the four-stage form

    H0_i = y + dt sum_j A0[i, j] f_j + chi2 sum_j B0[i, j] g_j     f_i = f(t + c0[i] dt, H0_i)
    H1_i = y + dt sum_j A1[i, j] f_j + sqrt(dt) sum_j B1[i, j] g_j  g_i = g(t + c1[i] dt, H1_i)
    y1 = y + dt sum_i alpha_i f_i + sum_i (beta1_i dW + beta2_i chi1) g_i
           + sum_i (beta3_i chi2 + beta4_i chi3) g_i                (the last sum: E2)

with chi1 = I_(1,1)/sqrt(dt) = (dW^2 - dt)/(2 sqrt(dt)), chi2 = I_(1,0)/dt = (dW + dZ/sqrt(3))/2,
chi3 = I_(1,1,1)/dt = (dW^3 - 3 dW dt)/(6 dt), dZ ~ N(0, dt) independent of dW. The error
estimate (Rackauckas & Nie 2017) is E1 = dt sum_{i <= n_err} f_i and E2.

SRA (additive noise, strong order 1.5), the three-stage form

    H0_i = y + dt sum_j A0[i, j] f_j + chi2 sum_j B0[i, j] g_j, f_i = f(t + c0[i] dt, H0_i),
    g_i = g(t + c1[i] dt) (additive: g does not depend on y),
    y1 = y + dt sum alpha_i f_i + dW sum beta1_i g_i + chi2 sum beta2_i g_i  (the last: E2).

SRIW1 and SRA1 are Rößler's (2010) SRIW1/SRA1 written in these forms (the way
StochasticDiffEq.jl evaluates them); SOSRI and SOSRA are Rackauckas & Nie's (2017)
stability-optimised tableaus. tests/test_sde.py checks every one by its strong order.
"""
import numpy as np


def _sri(A0, A1, B0, B1, c0, c1, alpha, beta1, beta2, beta3, beta4, n_err):
    return dict(A0=np.array(A0, float), A1=np.array(A1, float), B0=np.array(B0, float),
                B1=np.array(B1, float), c0=np.array(c0, float), c1=np.array(c1, float),
                alpha=np.array(alpha, float), beta1=np.array(beta1, float),
                beta2=np.array(beta2, float), beta3=np.array(beta3, float),
                beta4=np.array(beta4, float), n_err=n_err)


Z4 = [0.0, 0.0, 0.0, 0.0]

SRIW1 = _sri(
    A0=[Z4, [0.75, 0, 0, 0], Z4, Z4],
    A1=[Z4, [0.25, 0, 0, 0], [1.0, 0, 0, 0], [0.25, 0, 0, 0]],
    B0=[Z4, [1.5, 0, 0, 0], Z4, Z4],
    B1=[Z4, [0.5, 0, 0, 0], [-1.0, 0, 0, 0], [-5.0, 3.0, 0.5, 0]],
    c0=[0.0, 0.75, 0.0, 0.0],
    c1=[0.0, 0.25, 1.0, 0.25],
    alpha=[1 / 3, 2 / 3, 0.0, 0.0],
    beta1=[-1.0, 4 / 3, 2 / 3, 0.0],
    beta2=[-1.0, 4 / 3, -1 / 3, 0.0],
    beta3=[2.0, -4 / 3, -2 / 3, 0.0],
    beta4=[-2.0, 5 / 3, -2 / 3, 1.0],
    n_err=2)

SOSRI = _sri(
    A0=[Z4,
        [-0.04199224421316468, 0, 0, 0],
        [2.842612915017106, -2.0527723684000727, 0, 0],
        [4.338237071435815, -2.8895936137439793, 2.3017575594644466, 0]],
    A1=[Z4,
        [0.26204282091330466, 0, 0, 0],
        [0.20903646383505375, -0.1502377115150361, 0, 0],
        [0.05836595312746999, 0.6149440396332373, 0.08535117634046772, 0]],
    B0=[Z4,
        [-0.21641093549612528, 0, 0, 0],
        [1.5336352863679572, 0.26066223492647056, 0, 0],
        [-1.0536037558179159, 1.7015284721089472, -0.20725685784180017, 0]],
    B1=[Z4,
        [-0.5119011827621657, 0, 0, 0],
        [2.67767339866713, -4.9395031322250995, 0, 0],
        [0.15580956238299215, 3.2361551006624674, -1.4223118283355949, 0]],
    c0=[0.0, -0.04199224421316468, 0.7898405466170333, 3.7504010171562823],
    c1=[0.0, 0.26204282091330466, 0.05879875232001766, 0.758661169101175],
    alpha=[1.140099274172029, -0.6401334255743456, 0.4736296532772559, 0.026404498125060714],
    beta1=[-1.8453464565104432, 2.688764531100726, -0.2523866501071323, 0.40896857551684956],
    beta2=[0.4969658141589478, -0.5771202869753592, -0.12919702470322217, 0.2093514975196336],
    beta3=[2.8453464565104425, -2.688764531100725, 0.2523866501071322, -0.40896857551684945],
    beta4=[0.11522663875443433, -0.57877086147738, 0.2857851028163886, 0.17775911990655704],
    n_err=4)


def _sra(A0, B0, c0, c1, alpha, beta1, beta2):
    return dict(A0=np.array(A0, float), B0=np.array(B0, float), c0=np.array(c0, float),
                c1=np.array(c1, float), alpha=np.array(alpha, float),
                beta1=np.array(beta1, float), beta2=np.array(beta2, float))


Z3 = [0.0, 0.0, 0.0]

# SRA1: k1 = f(y), k2 = f(y + 3/4 dt k1 + 3/2 chi2 g(t + dt)); g1 = g(t + dt), g2 = g(t)
SRA1 = _sra(
    A0=[Z3, [0.75, 0, 0], Z3],
    B0=[Z3, [1.5, 0, 0], Z3],
    c0=[0.0, 0.75, 0.0],
    c1=[1.0, 0.0, 0.0],
    alpha=[1 / 3, 2 / 3, 0.0],
    beta1=[1.0, 0.0, 0.0],
    beta2=[-1.0, 1.0, 0.0])

SOSRA = _sra(
    A0=[Z3, [0.6923962376159507, 0, 0], [-3.1609142252828395, 4.1609142252828395, 0]],
    B0=[Z3, [1.3371632704399763, 0, 0], [1.442371048468624, 1.8632741501139225, 0]],
    c0=[0.0, 0.6923962376159507, 1.0],
    c1=[0.0, 0.041248171110700504, 1.0],
    alpha=[0.2889874966892885, 0.6859880440839937, 0.025024459226717772],
    beta1=[-16.792534242221663, 17.514995785380226, 0.27753845684143835],
    beta2=[0.4237535769069274, 0.6010381474428539, -1.0247917243497813])

# SRA1 uses two stages; the third row is zero (its f is never evaluated)
SRA_STAGES = {"SRA1": 2, "SOSRA": 3}
