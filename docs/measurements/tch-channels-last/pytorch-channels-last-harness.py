# Throw-away harness behind onednn-verbose.txt: the PyTorch script with every network in
# channels_last (python pytorch-channels-last-harness.py {std|cl} THREADS, from the repository root).
import sys, time, torch
sys.path.insert(0, "scripts/pytorch")
import sfda_iteration as m
cl = sys.argv[1] == "cl"
torch.set_num_threads(int(sys.argv[2]))
cfg = m.load_preset(str(m.DEMO_PRESET))
it = m.SfdaIteration(cfg, 0, None, None, max_iter=10)
if cl:
    for net in (it.teacher, it.student, it.generator, it.disc):
        net.to(memory_format=torch.channels_last)
data = torch.Generator().manual_seed(2)
size=(256,128)
ts=[]
for i in range(6):
    xt = m.target_batch(data, cfg, size)
    if cl: xt = xt.contiguous(memory_format=torch.channels_last)
    (g,s,d), log = it.iterate(xt)
    if i: ts.append((g,s,d))
n=len(ts)
print(sys.argv[1], sys.argv[2], "g %.3f s %.3f d %.3f compute %.3f" % tuple([sum(t[j] for t in ts)/n for j in range(3)] + [sum(sum(t) for t in ts)/n]), "g_total %.4f" % log["g_total"])
