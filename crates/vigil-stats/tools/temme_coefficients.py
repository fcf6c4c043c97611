"""Taylor coefficients of Temme's c0(eta) and c1(eta) (DLMF 8.12.9) for vigil-stats'
incomplete_gamma.rs, in exact rational arithmetic.

With lambda = x/a and eta^2/2 = lambda - 1 - ln(lambda) (sign of lambda - 1), mu = lambda - 1 is
found as a power series in eta by Lagrange inversion, then
    c0 = 1/mu - 1/eta,
    c1 = 1/eta^3 - 1/mu^3 - 1/mu^2 - 1/(12 mu)
are expanded; their singular parts cancel exactly (asserted). The first coefficients agree with
DLMF 8.12.10 (c0(0) = -1/3, c1(0) = -1/540) and with the d0, d1 tables of DiDonato & Morris
(1986, ACM TOMS 12:377). Run: python3 temme_coefficients.py (prints the doubles used in Rust).
"""
from fractions import Fraction as F
N = 30  # series length
def mul(a,b):
    c=[F(0)]*N
    for i,x in enumerate(a):
        if x==0: continue
        for j in range(N-i):
            c[i+j]+=x*b[j]
    return c
def inv(a):  # 1/a, a0 != 0
    c=[F(0)]*N; c[0]=1/a[0]
    for n in range(1,N):
        s=sum(a[k]*c[n-k] for k in range(1,n+1))
        c[n]=-s/a[0]
    return c
def sqrt1(a): # sqrt, a0 = 1
    c=[F(0)]*N; c[0]=F(1)
    for n in range(1,N):
        s=sum(c[k]*c[n-k] for k in range(1,n))
        c[n]=(a[n]-s)/2
    return c
def pw(a,k):
    r=[F(0)]*N; r[0]=F(1)
    for _ in range(k): r=mul(r,a)
    return r
# g(mu) = 2 f / mu^2, f = sum_{k>=2} (-1)^k mu^k / k  => g_j = 2(-1)^j/(j+2)
g=[F(2*(-1)**j, j+2) for j in range(N)]
h=sqrt1(g)             # eta = mu*h(mu)
hinv=inv(h)
# Lagrange: b_k = (1/k) [mu^{k-1}] hinv^k
b=[F(0)]*(N)
hk=[F(1)]+[F(0)]*(N-1)
for k in range(1,N):
    hk=mul(hk,hinv)
    b[k]=hk[k-1]/k
# m(eta) = mu/eta = sum b_{k+1} eta^k
m=[b[k+1] if k+1<N else F(0) for k in range(N)]
assert m[0]==1
mi=inv(m); mi2=mul(mi,mi); mi3=mul(mi2,mi)
# c0 = (mi - 1)/eta
c0=[mi[k+1] for k in range(N-1)]
# c1 = (1 - mi3)/eta^3 - mi2/eta^2 - mi/(12 eta)
t=[-mi3[k] for k in range(N)]; t[0]+=1
full=[F(0)]*N
for k in range(N):
    full[k]=t[k] - (mi2[k-1] if k>=1 else 0) - (mi[k-2]/12 if k>=2 else 0)
# must have full[0]=full[1]=full[2]=0
assert full[0]==0 and full[1]==0 and full[2]==0, full[:3]
c1=[full[k+3] for k in range(N-3)]
# c2 by the recursion c_k = (1/eta) c_{k-1}'(eta) + (-1)^k gamma_k/(lambda - 1) (DLMF 8.12.11),
# gamma_2 = 1/288 (Stirling's series, A&S 6.1.37); the 1/eta terms must cancel (asserted), which
# checks gamma_2 and its sign.
gamma2 = F(1, 288)
assert c1[1] + gamma2 * mi[0] == 0
c2 = [(j + 2) * c1[j + 2] + gamma2 * mi[j + 1] for j in range(len(c1) - 2)]
assert c2[0] == F(25, 6048)  # DLMF 8.12.10
print("c2", c2[:4])
print("mu coeffs", b[1:6])
print("c0", c0[:6])
print("c1", c1[:6])
import json  # noqa
if False: json.dump({"c0":[str(x) for x in c0[:24]],"c1":[str(x) for x in c1[:22]]},open('/tmp/temme_coeffs.json','w'))
for name, c in (("C0", c0[:24]), ("C1", c1[:22]), ("C2", c2[:20])):
    print("const TEMME_%s: [f64; %d] = [" % (name, len(c)))
    for x in c:
        print("    %r," % float(x))
    print("];")
